import ArgumentParser
import Cloakroom

extension CacheCommand {
    struct Clear: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Drop cached tokens: of one client, or all.",
            discussion: """
                Examples:
                  cloak cache clear
                  cloak cache clear prod/orders
                """)

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("Only this client's tokens.", valueName: "realm/name"), completion: Completion.clients) var ref: String?

        func run() throws {
            let removed = try options.unlockVault().clearTokenCache(for: ref.map { try ClientRef($0) })
            Terminal.note("dropped \(removed) cached token(s)")
        }
    }
}
