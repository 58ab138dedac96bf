import ArgumentParser

struct AgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agent",
        abstract: "Serve fresh tokens to this host's processes (`cloak agent`), and manage its TCP consumers.",
        discussion: """
            Examples:
              cloak agent
              cloak agent --sink prod/orders=/run/orders/token --sink-owner orders
              cloak agent consumer add ci-runner --clients 'prod/*'
            """,
        subcommands: [Serve.self, AgentConsumerCommand.self],
        defaultSubcommand: Serve.self
    )
}
