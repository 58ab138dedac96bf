import ArgumentParser
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the vault is and how to unlock it: shared by every command that touches a vault.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault file (default: $CLOAK_VAULT, else $XDG_DATA_HOME/cloakroom/vault.db).", valueName: "path"))
    var vault: String?

    @Option(name: .long, help: ArgumentHelp("A key file that unlocks the vault (default: $CLOAK_KEY_FILE, else $XDG_CONFIG_HOME/cloakroom/vault.key if it exists).", valueName: "path"))
    var keyFile: String?

    @Option(name: .long, help: ArgumentHelp("Read the key from this file descriptor: 32 raw bytes or 64 hex digits (for CI).", valueName: "fd"))
    var keyFd: Int32?

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from this file descriptor (up to its first newline) instead of a terminal prompt.", valueName: "fd"))
    var passphraseFd: Int32?

    @Flag(name: .long, help: "Show the underlying cause of an error.")
    var debug = false

    var vaultPath: String {
        Paths.vault(vault ?? Environment.value("CLOAK_VAULT") ?? Vault.defaultPath(environment: Environment.value))
    }

    /// The key file given (`--key-file`, else `CLOAK_KEY_FILE`), else the default one when it
    /// exists. `CLOAK_KEY_FILE` set but empty means none, not even the default: for a vault
    /// unlocked by a passphrase on an account whose default key file belongs to another vault.
    var keyFilePath: String? {
        guard keyFd == nil else { return nil }
        return givenKeyFilePath ?? Self.defaultKeyFile()
    }

    /// `--key-file`, else a non-empty `CLOAK_KEY_FILE`.
    var givenKeyFilePath: String? {
        (keyFile ?? Environment.value("CLOAK_KEY_FILE")).map(Paths.absolute)
    }

    /// The default key file when it exists and `CLOAK_KEY_FILE` is not set (even to "").
    static func defaultKeyFile() -> String? {
        defaultKeyFilePath.flatMap { access($0, F_OK) == 0 ? $0 : nil }
    }

    /// Where the default key file is, or would be made; `nil` when `CLOAK_KEY_FILE` is set
    /// (even to "": then no key file is meant).
    static var defaultKeyFilePath: String? {
        getenv("CLOAK_KEY_FILE") == nil ? KeyFile.defaultPath(environment: Environment.value) : nil
    }

    /// `CLOAK_BUSY_TIMEOUT` (seconds, fractions allowed, at most an hour) overrides how long to
    /// wait for another writer.
    static var busyTimeout: Duration {
        get throws {
            let fallback = Double(Vault.defaultBusyTimeout.components.seconds)
            return .milliseconds(Int64(try Durations.environment(.busyTimeout, fallback: fallback) * 1000))
        }
    }

    /// `CLOAK_DEADLINE` (seconds, from a millisecond to an hour): how long fetching one token, or
    /// any one exchange with an identity provider, may take, retries included.
    var deadline: Duration {
        get throws {
            .milliseconds(Int64(try Durations.environment(.deadline, fallback: 10) * 1000))
        }
    }

    /// A broker over `vault` for one command, asking the IdP within `CLOAK_DEADLINE`.
    func broker(over vault: sending UnlockedVault, _ adjust: (inout TokenBroker.Configuration) -> Void = { _ in }) throws -> TokenBroker {
        var configuration = TokenBroker.Configuration()
        configuration.deadline = try deadline
        adjust(&configuration)
        return try TokenBroker(vault, configuration: configuration)
    }

    func openVault() throws -> Vault { try Vault.open(at: vaultPath, busyTimeout: Self.busyTimeout, clock: Self.clock) }

    /// What time it is for the vault (and the agent's schedule). Debug builds move it by
    /// `CLOAK_TEST_CLOCK_OFFSET` seconds: a test stores a secret "two hours ago", and sees it
    /// fall due with no wait and no edit of the file behind cloak's back.
    @Sendable static func clock() -> Date {
        #if CLOAK_TEST_HOOKS
        if let offset = Environment.value("CLOAK_TEST_CLOCK_OFFSET").flatMap(Double.init) { return Date().addingTimeInterval(offset) }
        #endif
        return Date()
    }

    /// The credentials given: the key file, the passphrase from `--passphrase-fd`, or — when the
    /// vault has a passphrase slot and stdin is a terminal — a passphrase typed at a prompt.
    func credentials(for vault: Vault? = nil) throws -> [VaultCredential] {
        var credentials: [VaultCredential] = []
        if let fd = keyFd { credentials.append(.keyFile(try KeyFile.read(fromDescriptor: fd))) }
        if let path = keyFilePath { credentials.append(.keyFile(try KeyFile.load(from: path))) }
        if let fd = passphraseFd {
            credentials.append(.passphrase(try Passphrase.read(from: fd)))
        } else if credentials.isEmpty, let vault, Terminal.isInteractive,
                  try vault.keyslots().contains(where: { $0.kind == .passphrase }) {
            credentials.append(.passphrase(try Terminal.passphrase(prompt: "Passphrase for \(vault.path): ")))
        }
        return credentials
    }

    /// Opens and unlocks the vault: what every command that changes it starts with. The vault
    /// `FastToken` already unlocked for a cache miss is taken instead when it is this one, with
    /// this key file and no passphrase: a miss opens the vault once, not twice.
    func unlockVault(all: Bool = false) throws -> UnlockedVault {
        if !all, passphraseFd == nil, keyFd == nil, let keyFilePath, let vault = HandOff.take(vaultPath: vaultPath, keyFilePath: keyFilePath) {
            return vault
        }
        let vault = try openVault()
        return try vault.unlock(with: credentials(for: vault), all: all)
    }
}

/// The vault `FastToken` unlocked before it found no cached token, for the full command to go on
/// with. Written once by `main` before the command runs and taken at most once, both on the main
/// thread before any task exists: hence `nonisolated(unsafe)`, and no lock.
enum HandOff {
    nonisolated(unsafe) private static var unlocked: (vaultPath: String, keyFilePath: String, vault: UnlockedVault)?
    nonisolated(unsafe) private static var missed: (ref: String, entry: AccessToken?)?

    /// - Parameter missed: the request (a client, no scopes or audience) whose cache entry was
    ///   read and not served, and that entry: the full path does not read it again.
    static func give(_ vault: UnlockedVault, vaultPath: String, keyFilePath: String, missed: (ref: String, entry: AccessToken?)) {
        unlocked = (vaultPath, keyFilePath, vault)
        self.missed = missed
    }

    /// What the fast path read for `ref` with no scopes or audience, if it did; at most once.
    static func cacheLookup(for ref: String, scopes: [String], audience: String?) -> TokenBroker.CacheLookup {
        defer { missed = nil }
        guard unlocked == nil, let missed, missed.ref == ref, scopes.isEmpty, audience == nil else { return .unread }
        return .read(missed.entry)
    }

    /// The handed-off vault if it was opened from `vaultPath` with `keyFilePath`; `nil` otherwise.
    static func take(vaultPath: String, keyFilePath: String) -> UnlockedVault? {
        defer { unlocked = nil }
        guard let unlocked, unlocked.vaultPath == vaultPath, unlocked.keyFilePath == keyFilePath else {
            missed = nil  // read from another vault than the one the command uses
            return nil
        }
        return unlocked.vault
    }
}

/// `--json` for every listing.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print stable JSON (snake_case keys, ISO-8601 UTC times) instead of a table.")
    var json = false
}

/// How strongly a new passphrase slot resists guessing.
enum KDFCost: String, ExpressibleByArgument, CaseIterable {
    case interactive, moderate, sensitive

    var parameters: Argon2Parameters {
        switch self {
        case .interactive: .interactive
        case .moderate: .moderate
        case .sensitive: .sensitive
        }
    }
}
