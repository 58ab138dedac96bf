import ArgumentParser
import Cloakroom

extension AgentConsumerCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a consumer; its credential is printed once (the vault keeps only its digest).",
            discussion: """
                cloak agent consumer add orders-container --clients 'prod/orders*'
                The consumer sends it as `Authorization: Bearer cloak_agent_…` to `cloak agent --listen` \
                and may ask for tokens of the clients its globs match (and for health), nothing else.

                Examples:
                  cloak agent consumer add ci-runner --clients 'prod/*'
                  cloak agent consumer add billing --clients 'prod/billing*'
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: "The consumer's name.") var name: String
        @Option(help: ArgumentHelp("A REALM/NAME glob of the clients it may ask for; repeat for several.", valueName: "glob"))
        var clients: [String] = []

        func validate() throws {
            guard !clients.isEmpty else { throw ValidationError("give --clients GLOB (e.g. 'prod/*').") }
        }

        func run() throws {
            let name = try Name(name, of: "consumer name")
            let credential = try options.unlockVault().addConsumer(name, clients: clients)
            Terminal.note("added consumer \(name) for \(clients.joined(separator: " ")); its credential, shown once:")
            Output.write(credential + "\n")
        }
    }
}
