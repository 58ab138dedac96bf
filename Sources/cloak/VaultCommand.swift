import ArgumentParser
import Cloakroom

struct VaultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vault",
        abstract: "Work on a whole vault: copy it between SQLite and PostgreSQL.",
        discussion: """
            Examples:
              cloak vault copy ~/.local/share/cloakroom/vault.db "$TEAM_VAULT_URL"
            """,
        subcommands: [Copy.self]
    )

    struct Copy: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy a whole vault to a new one: a file or a team vault, in either direction.",
            discussion: """
                Everything is copied as it is stored: keyslots, realms, clients with every secret \
                version, cached tokens, the rotation journal, the audit log, discovery results and \
                agent consumers. Rows keep their ids and the vault its identity, so the copy opens \
                with the same key files and passphrases and nothing is decrypted on the way. Before \
                it is committed the copy is checked as `cloak doctor` checks a vault (every sealed \
                secret opened, the audit log verified): nothing is written to DST unless all of it \
                is, and checks out. SRC is not changed; DST must not hold a vault yet.

                Both are vaults of one team from then on only if one of them is retired: a secret \
                rotated through one is not known to the other.

                Examples:
                  cloak vault copy ~/.local/share/cloakroom/vault.db "$TEAM_VAULT_URL"
                  cloak vault copy "$TEAM_VAULT_URL" backup.db --key-file ops.key
                """
        )

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("The vault to copy: a file, or a postgresql:// URL.", valueName: "src")) var source: String
        @Argument(help: ArgumentHelp("Where the copy goes: a new file, or a postgresql:// URL whose schema holds no vault.", valueName: "dst"))
        var destination: String

        func validate() throws {
            if options.vault != nil { throw ValidationError("give the vault to copy as SRC, not with --vault.") }
        }

        func run() throws {
            var from = options
            from.vault = source
            let vault = try from.openVault()
            let report = try vault.copy(to: Paths.vault(destination), credentials: from.credentials(for: vault))
            let count = { (table: String) in report.rows[table] ?? 0 }
            if output.json {
                return Output.json(.object([
                    "source": .string(vault.path),
                    "destination": .string(report.destination),
                    "rows": .fields(report.rows.sorted { $0.key < $1.key }.map { ($0.key, .number(Int64($0.value))) }),
                ]))
            }
            Terminal.note("""
                copied \(vault.path) to \(report.destination): \(count("keyslots")) keyslot(s), \(count("realms")) realm(s), \
                \(count("clients")) client(s) with \(count("secret_versions")) secret version(s), \(count("events")) audit event(s); \
                every sealed secret opens with the given key and the audit log verifies.
                """)
        }
    }
}
