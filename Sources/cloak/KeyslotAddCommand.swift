import ArgumentParser
import Cloakroom

extension KeyslotCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a key file or a passphrase as another way to unlock the vault.",
            discussion: """
                Unlock with an existing key (--key-file or --passphrase-fd / prompt) and name the new one.

                Examples:
                  cloak keyslot add --new-key-file ci.key --label ci
                  cloak keyslot add --new-passphrase --label alice
                """
        )

        @OptionGroup var options: VaultOptions

        @Option(help: ArgumentHelp("A key file for the new slot (created, mode 0600, if missing).", valueName: "path"))
        var newKeyFile: String?

        @Flag(help: "Add a passphrase slot (typed twice at a prompt, or from --new-passphrase-fd).")
        var newPassphrase = false

        @Option(help: ArgumentHelp("Read the new passphrase from this file descriptor.", valueName: "fd"))
        var newPassphraseFd: Int32?

        @Option(help: "Argon2id cost of a passphrase slot: interactive, moderate or sensitive.")
        var kdf: KDFCost = .moderate

        @Option(help: "A label to recognise the slot by (e.g. \"ci\", \"alice\").")
        var label = ""

        func validate() throws {
            guard (newKeyFile != nil) != (newPassphrase || newPassphraseFd != nil) else {
                throw ValidationError("give exactly one of --new-key-file PATH or --new-passphrase.")
            }
        }

        func run() throws {
            let unlocked = try options.unlockVault()
            let slot: NewKeyslot
            if let path = newKeyFile.map(Paths.absolute) {
                let file: KeyFile
                do { file = try KeyFile.create(at: path) } catch let error as VaultError where error.code == .alreadyExists {
                    file = try KeyFile.load(from: path)
                }
                slot = .keyFile(file, label: label)
            } else {
                let phrase: Passphrase
                if let fd = newPassphraseFd {
                    phrase = try Passphrase.read(from: fd)
                } else {
                    guard Terminal.isInteractive else { throw UsageError("--new-passphrase needs a terminal, or --new-passphrase-fd N.") }
                    phrase = try Terminal.newPassphrase()
                }
                slot = try .passphrase(phrase, cost: kdf.parameters, label: label)
            }
            let added = try unlocked.addKeyslot(slot)
            Terminal.note("added keyslot \(added.id) (\(added.kind.rawValue)\(added.fingerprint.map { ", fingerprint \($0)" } ?? ""))")
        }
    }
}
