import ArgumentParser
import Cloakroom

extension CacheCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List cached tokens: client, request, expiry.",
            discussion: """
                Examples:
                  cloak cache list
                  cloak cache list --json
                """)

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
}
