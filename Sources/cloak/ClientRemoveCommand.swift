import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client and every version of its secret.",
            discussion: """
                Examples:
                  cloak client remove prod/orders
                  cloak client remove prod/orders --yes
                """)

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to remove.", valueName: "realm/name"), completion: Completion.clients) var ref: String
        @OptionGroup var confirmation: ConfirmationOptions

        func run() throws {
            let ref = try ClientRef(ref)
            let vault = try options.unlockVault()
            _ = try vault.vault.client(ref)  // a client that is not there is exit 3, not a question
            try confirmation.confirm("remove client \(ref) and every version of its secret")
            try vault.removeClient(ref)
            Terminal.note("removed client \(ref) and its secrets")
        }
    }
}
