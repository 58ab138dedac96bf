import ArgumentParser

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve fresh tokens to this host's processes (`cloak agent`), and manage its TCP consumers.",
        subcommands: [Serve.self, AgentConsumerCommand.self],
        defaultSubcommand: Serve.self
    )
}
