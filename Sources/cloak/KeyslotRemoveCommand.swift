import ArgumentParser
import Cloakroom

extension KeyslotCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a keyslot (never the last one).")

        @OptionGroup var options: VaultOptions
        @Argument(help: "The keyslot's id, from `cloak keyslot list`.") var id: Int64

        func run() throws {
            try options.unlockVault().removeKeyslot(id: id)
            Terminal.note("removed keyslot \(id)")
        }
    }
}
