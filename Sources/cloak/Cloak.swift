import ArgumentParser

/// The root command: configuration only; every subcommand lives in its own file.
struct Cloak: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloak",
        abstract: "Keep OAuth client secrets sealed in a vault instead of .env files.",
        discussion: """
            Options such as --vault, --key-file and --passphrase-fd go before or after the \
            command (cloak --vault PATH client list). Exit codes are listed in the README.
            """,
        version: "0.1.0",
        subcommands: [
            InitCommand.self, RealmCommand.self, ClientCommand.self, TokenCommand.self, ExecCommand.self, AgentCommand.self, InspectCommand.self, RotateCommand.self, ImportCommand.self, ExportCommand.self, CacheCommand.self, KeyslotCommand.self, RekeyCommand.self, LogCommand.self, DoctorCommand.self, VaultCommand.self,
        ]
    )
}
