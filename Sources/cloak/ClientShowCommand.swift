import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one client (never its secret).",
            discussion: """
                Examples:
                  cloak client show prod/orders
                  cloak client show prod/orders --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("The client to show.", valueName: "realm/name"), completion: Completion.clients) var ref: String

        func run() throws {
            let client = try options.openVault().client(try ClientRef(ref))
            if output.json { return Output.json(JSON(client)) }
            Output.record([
                ("client", client.ref.description),
                ("client id", client.clientID),
                ("auth", client.authMethod.rawValue),
                ("scopes", client.scopes.isEmpty ? "-" : client.scopes.joined(separator: " ")),
                ("audience", client.audience ?? "-"),
                ("secret", client.secretVersion.map { "version \($0), sealed \(client.secretUpdatedAt.map(Output.time) ?? "?")" } ?? "none"),
                ("rotate every", client.rotateEvery.map { Durations.text($0.inSeconds) } ?? "-"),
                ("created", Output.time(client.createdAt)),
                ("updated", Output.time(client.updatedAt)),
            ])
        }
    }
}
