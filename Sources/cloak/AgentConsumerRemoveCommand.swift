import ArgumentParser
import Cloakroom

extension AgentConsumerCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a consumer: its credential stops working at once.",
            discussion: """
                Examples:
                  cloak agent consumer remove ci-runner
                """)

        @OptionGroup var options: VaultOptions
        @Argument(help: "The consumer's name.") var name: String

        func run() throws {
            let name = try Name(name, of: "consumer name")
            try options.unlockVault().removeConsumer(name)
            Terminal.note("removed consumer \(name)")
        }
    }
}
