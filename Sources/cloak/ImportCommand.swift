import ArgumentParser

/// `cloak import …`: credentials from elsewhere. Each source is its own subcommand, in its own file.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring realms, clients and secrets into the vault: from .env files, or a sealed bundle.",
        discussion: """
            Examples:
              cloak import dotenv services/orders/.env --as prod
              cloak import bundle team.bundle --bundle-key-file bundle.key
            """,
        subcommands: [ImportDotEnvCommand.self, ImportBundleCommand.self]
    )
}
