import ArgumentParser
import Cloakroom

struct AgentConsumerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer",
        abstract: "Add, list and remove the credentials of the agent's TCP listener (--listen).",
        subcommands: [Add.self, List.self, Remove.self]
    )
}
