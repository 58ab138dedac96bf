import ArgumentParser
import Cloakroom

struct Rekey: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replace the vault key and re-seal every secret in one transaction.",
        discussion: """
            Every keyslot opened by the credentials you give is re-wrapped for the new key; the \
            others are removed, because their keys are not known here. Give --key-file and \
            --passphrase-fd together to keep both kinds.
            """
    )

    @OptionGroup var options: VaultOptions

    func run() throws {
        let (_, report) = try options.unlockVault(all: true).rekey()
        Terminal.note("new vault key: \(report.resealed) sealed value(s) re-sealed, keyslot(s) \(report.keptKeyslots.map(String.init).joined(separator: ", ")) kept")
        if !report.removedKeyslots.isEmpty {
            Terminal.note("removed keyslot(s) \(report.removedKeyslots.map(String.init).joined(separator: ", ")): no given key opened them; add them again with `cloak keyslot add`")
        }
    }
}
