import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where the vault is and how to unlock it: shared by every command that touches a vault.
struct VaultOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The vault file (default: $CLOAK_VAULT, else $XDG_DATA_HOME/cloakroom/vault.db).", valueName: "path"))
    var vault: String?

    @Option(name: .long, help: ArgumentHelp("A key file that unlocks the vault (default: $CLOAK_KEY_FILE).", valueName: "path"))
    var keyFile: String?

    @Option(name: .long, help: ArgumentHelp("Read the passphrase from this file descriptor instead of a terminal prompt.", valueName: "fd"))
    var passphraseFd: Int32?

    @Flag(name: .long, help: "Show the underlying cause of an error.")
    var debug = false

    var environment: [String: String] { Environment.variables }

    var vaultPath: String {
        let path = vault ?? environment["CLOAK_VAULT"].flatMap { $0.isEmpty ? nil : $0 } ?? Vault.defaultPath(environment: environment)
        return Paths.absolute(path)
    }

    var keyFilePath: String? {
        (keyFile ?? environment["CLOAK_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }).map(Paths.absolute)
    }

    /// The seconds each numeric environment setting may hold; anything else is exit 2. One table,
    /// so that `FastToken` refuses exactly what the full command refuses.
    static let settingRanges: [String: ClosedRange<TimeInterval>] = ["CLOAK_BUSY_TIMEOUT": 0...3600, "CLOAK_DEADLINE": 0.001...3600]

    /// `CLOAK_BUSY_TIMEOUT` (seconds, fractions allowed, at most an hour) overrides how long to
    /// wait for another writer.
    var busyTimeout: Duration {
        get throws {
            let fallback = Double(Vault.defaultBusyTimeout.components.seconds)
            return .milliseconds(Int64(try Durations.environment("CLOAK_BUSY_TIMEOUT", range: Self.settingRanges["CLOAK_BUSY_TIMEOUT"]!, fallback: fallback) * 1000))
        }
    }

    /// `CLOAK_DEADLINE` (seconds, from a millisecond to an hour): how long fetching one token, or
    /// any one exchange with an identity provider, may take, retries included.
    var deadline: Duration {
        get throws {
            .milliseconds(Int64(try Durations.environment("CLOAK_DEADLINE", range: Self.settingRanges["CLOAK_DEADLINE"]!, fallback: 10) * 1000))
        }
    }

    func openVault() throws -> Vault { try Vault.open(at: vaultPath, busyTimeout: busyTimeout) }

    /// The credentials given: the key file, the passphrase from `--passphrase-fd`, or — when the
    /// vault has a passphrase slot and stdin is a terminal — a passphrase typed at a prompt.
    func credentials(for vault: Vault? = nil) throws -> [VaultCredential] {
        var credentials: [VaultCredential] = []
        if let path = keyFilePath { credentials.append(.keyFile(try KeyFile.load(from: path))) }
        if let fd = passphraseFd {
            credentials.append(.passphrase(try Passphrase.read(from: fd)))
        } else if credentials.isEmpty, let vault, Terminal.isInteractive,
                  try vault.keyslots().contains(where: { $0.kind == .passphrase }) {
            credentials.append(.passphrase(try Terminal.passphrase(prompt: "Passphrase for \(vault.path): ")))
        }
        return credentials
    }

    /// Opens and unlocks the vault: what every command that changes it starts with.
    func unlockVault(all: Bool = false) throws -> UnlockedVault {
        let vault = try openVault()
        return try vault.unlock(with: credentials(for: vault), all: all)
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

enum Environment {
    /// `--env-var`: a name a shell and `execve` both take as a variable, `[A-Za-z_][A-Za-z0-9_]*`.
    /// `cloak token --format env` prints it into shell code, so nothing else may pass.
    static func checkVariableName(_ name: String) throws {
        let valid = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        guard valid else { throw ValidationError("--env-var must be a variable name ([A-Za-z_][A-Za-z0-9_]*).") }
    }

    static let variables: [String: String] = {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }()
}

enum Paths {
    /// Paths are stored and reported absolute, so that a message names the file unambiguously.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return (cwd == "/" ? "" : cwd) + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }
}
