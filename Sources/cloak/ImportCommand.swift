import ArgumentParser

/// `cloak import …`: bring credentials in from elsewhere.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import credentials from .env files.",
        subcommands: [ImportDotEnv.self]
    )
}
