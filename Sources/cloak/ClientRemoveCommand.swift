import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client and every version of its secret.")

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to remove.", valueName: "realm/name")) var ref: String

        func run() throws {
            let ref = try ClientRef(ref)
            try options.unlockVault().removeClient(ref)
            Terminal.note("removed client \(ref) and its secrets")
        }
    }
}
