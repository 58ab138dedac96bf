import ArgumentParser
import Cloakroom

struct CacheCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache",
        abstract: "List or clear the vault's cached tokens (never printing them).",
        subcommands: [List.self, Clear.self]
    )
}

extension CacheCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cached tokens: client, request, expiry.")

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let entries = try options.openVault().cachedTokens()
            if output.json {
                return Output.json(.array(entries.map { entry in
                    .object([
                        "client": .string(entry.client.description), "request": .string(entry.shape),
                        "secret_version": .optional(entry.secretVersion), "scope": .optional(entry.scope),
                        "issued_at": .string(Output.time(entry.issuedAt)), "expires_at": .string(Output.time(entry.expiresAt)),
                    ])
                }))
            }
            Output.table(["CLIENT", "REQUEST", "EXPIRES"], entries.map { [$0.client.description, $0.shape, Output.time($0.expiresAt)] })
        }
    }

    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop cached tokens: of one client, or all.")

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("Only this client's tokens.", valueName: "realm/name")) var ref: String?

        func run() throws {
            let removed = try options.unlockVault().clearTokenCache(for: ref.map { try ClientRef($0) })
            Terminal.note("dropped \(removed) cached token(s)")
        }
    }
}
