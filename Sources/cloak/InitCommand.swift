import ArgumentParser
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create a vault, unlocked by a key file, a passphrase, or both.",
        discussion: """
            With --key-file (or CLOAK_KEY_FILE), a missing key file is created (32 random bytes, \
            mode 0600, its directories 0700); an existing one is used. With neither, nor \
            --passphrase, the key file is $XDG_CONFIG_HOME/cloakroom/vault.key (else \
            ~/.config/cloakroom/vault.key), where every command looks when given no key. With \
            --key-fd N, the key is read from that descriptor (32 raw bytes or 64 hex digits) and \
            no file is written. With --passphrase, the passphrase is typed twice at a prompt, or \
            read from --passphrase-fd. Keep the key file away from the vault: together they are the secrets.

            With a team vault (--vault postgresql://OWNER@…), run as the role that is to own its \
            schema: the schema and its tables are made, and the GRANTs a runtime role needs are \
            printed on stdout (for --runtime-role, default cloak_runtime).

            Examples:
              cloak init
              cloak init --key-file /etc/cloakroom/vault.key
              cloak init --passphrase
              cloak init --key-fd 3 3<<<"$CLOAK_KEY"
              cloak init --vault postgresql://cloak_owner@db.internal/cloak
            """
    )

    @OptionGroup var options: VaultOptions

    @Flag(help: "Add a passphrase keyslot.")
    var passphrase = false

    @Option(help: "Argon2id cost of a passphrase slot: interactive, moderate or sensitive.")
    var kdf: KDFCost = .moderate

    @Option(help: ArgumentHelp("A team vault's runtime role, for the GRANTs printed.", valueName: "role"))
    var runtimeRole = "cloak_runtime"

    func run() throws {
        let keyFilePath = options.givenKeyFilePath ?? (passphrase ? nil : VaultOptions.defaultKeyFilePath)
        guard options.keyFd != nil || keyFilePath != nil || passphrase else {
            throw UsageError("choose how the vault is unlocked: --key-file PATH (created if missing), --key-fd N and/or --passphrase. (CLOAK_KEY_FILE is set but empty, which means no key file, not even the default one.)")
        }
        var slots: [NewKeyslot] = []
        var newKeyFile: KeyFile?
        var notes: [String] = []
        if let fd = options.keyFd {
            let key = try KeyFile.read(fromDescriptor: fd)
            slots.append(.keyFile(key))
            notes.append("the key from \(key.path) (fingerprint \(key.fingerprint)) unlocks it; keep it in your secret store")
        } else if let path = keyFilePath {
            let (file, created) = try KeyFile.loadOrCreate(at: path)
            if created { newKeyFile = file }
            slots.append(.keyFile(file))
            notes.append("\(created ? "created key file" : "key file") \(file.path) (fingerprint \(file.fingerprint)); keep it apart from the vault, and back it up")
        }
        do {
            if passphrase { slots.append(try passphraseSlot()) }
            let vault = try Vault.create(at: options.vaultPath, firstKeyslot: slots[0])
            for slot in slots.dropFirst() { try vault.addKeyslot(slot) }
            let grants = vault.vault.grants(forRuntimeRole: runtimeRole)
            if !grants.isEmpty {
                notes.append("the role \(runtimeRole) can use the vault once its owner has run the GRANTs on stdout")
                Output.write(grants.joined(separator: "\n") + "\n")
            }
        } catch {
            // A key file made for a vault that does not exist would only confuse the next attempt.
            if let newKeyFile { unlink(newKeyFile.path) }
            throw error
        }
        Terminal.note("created vault \(options.vaultPath)")
        notes.forEach(Terminal.note)
    }

    private func passphraseSlot() throws -> NewKeyslot {
        let phrase = try options.passphraseFd.map { try Passphrase.read(from: $0) } ?? interactivePassphrase()
        return try .passphrase(phrase, cost: kdf.parameters)
    }

    private func interactivePassphrase() throws -> Passphrase {
        guard Terminal.isInteractive else {
            throw UsageError("--passphrase needs a terminal to type it at, or --passphrase-fd N.")
        }
        return try Terminal.newPassphrase()
    }

}
