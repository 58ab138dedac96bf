import ArgumentParser
import Cloakroom

struct AgentConsumerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer",
        abstract: "Add, list and remove the credentials of the agent's TCP listener (--listen).",
        discussion: """
            Examples:
              cloak agent consumer add ci-runner --clients 'prod/*'
              cloak agent consumer list --json
              cloak agent consumer remove ci-runner
            """,
        subcommands: [Add.self, List.self, Remove.self]
    )
}
