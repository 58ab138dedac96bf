import ArgumentParser
import Cloakroom

extension AgentConsumerCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the consumers and what each may ask for (never a credential).",
            discussion: """
                Examples:
                  cloak agent consumer list
                  cloak agent consumer list --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let consumers = try options.openVault().consumers()
            if output.json {
                return Output.json(.array(consumers.map { consumer in
                    .object(["name": .string(consumer.name.rawValue), "clients": .strings(consumer.clients),
                             "created_at": .string(Output.time(consumer.createdAt))])
                }))
            }
            Output.table(["NAME", "CLIENTS", "CREATED"], consumers.map { [$0.name.rawValue, $0.clients.joined(separator: " "), Output.time($0.createdAt)] })
        }
    }
}
