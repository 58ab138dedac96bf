import ArgumentParser

/// `cloak import …`: credentials from elsewhere. Each source is its own subcommand, in its own file.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Bring realms, clients and secrets into the vault: from .env files, or a sealed bundle.",
        subcommands: [ImportDotEnvCommand.self, ImportBundleCommand.self]
    )
}
