import ArgumentParser
import Cloakroom

extension KeyslotCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a keyslot (never the last one).",
            discussion: """
                Examples:
                  cloak keyslot remove 2
                  cloak keyslot remove 2 --yes
                """)

        @OptionGroup var options: VaultOptions
        @Argument(help: "The keyslot's id, from `cloak keyslot list`.") var id: Int64
        @OptionGroup var confirmation: ConfirmationOptions

        func run() throws {
            let vault = try options.unlockVault()
            let slots = try vault.vault.keyslots()
            if let slot = slots.first(where: { $0.id == id }), slots.count > 1 {  // else the library's own refusal
                try confirmation.confirm("remove keyslot \(id) (\(slot.kind.rawValue)\(slot.label.isEmpty ? "" : " “\(slot.label)”")): what opens it will no longer open the vault")
            }
            try vault.removeKeyslot(id: id)
            Terminal.note("removed keyslot \(id)")
        }
    }
}
