import ArgumentParser
import Cloakroom

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List or clear the vault's cached tokens (never printing them).",
        discussion: """
            Examples:
              cloak cache list
              cloak cache clear prod/orders
            """,
        subcommands: [List.self, Clear.self]
    )
}

