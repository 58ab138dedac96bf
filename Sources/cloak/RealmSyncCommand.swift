import ArgumentParser
import Cloakroom

extension RealmCommand {
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring a Keycloak realm's confidential clients and their secrets into the vault.",
            discussion: """
                Through the realm's admin client (`cloak realm update R --admin-client R/NAME`), lists \
                the realm's confidential clients with service accounts, reads their secrets, and adds \
                them to the vault (named after their clientId) or updates the ones whose secret changed \
                at the IdP (the old secret is kept as previous). Prints the plan first, then the result; \
                --dry-run stops after the plan. Reading secrets needs the realm-management role \
                view-clients on Keycloak up to 26.7, manage-clients from 26.8.

                Examples:
                  cloak realm sync prod --dry-run
                  cloak realm sync prod --match 'svc-*'
                """
        )

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The realm to sync.", completion: Completion.realms) var name: String
        @Option(help: ArgumentHelp("Only clients whose clientId matches this shell glob (e.g. 'svc-*').", valueName: "glob"))
        var match: String?
        @Flag(help: "Show the plan; change nothing.") var dryRun = false

        func run() throws {
            let name = try Name(name, of: "realm name")
            let broker = try options.broker(over: options.unlockVault())
            let sync = RealmSync(broker: broker)
            let match = match
            let plan = try blocking { try await sync.plan(realm: name, match: match) }
            if output.json {
                if !dryRun { try blocking { try await sync.apply(plan) } }
                return Output.json(.object([
                    "realm": .string(name.rawValue),
                    "applied": .bool(!dryRun),
                    "clients": .array(plan.entries.map { entry in
                        .object([
                            "client_id": .string(entry.clientID),
                            "client": .optional(entry.ref?.description),
                            "action": .string(entry.action.rawValue),
                            "reason": .optional(entry.reason.isEmpty ? nil : Advice.with(entry.reason, entry.next)),
                        ])
                    }),
                ]))
            }
            Output.table(["CLIENT ID", "VAULT NAME", "PLAN", "NOTE"], plan.entries.map {
                [$0.clientID, $0.ref?.description ?? "-", $0.action.rawValue, $0.reason.isEmpty ? "-" : Advice.with($0.reason, $0.next)]
            })
            guard !dryRun else { return Terminal.note("dry run: \(plan.changes) client(s) would be added or updated; nothing was changed.") }
            try blocking { try await sync.apply(plan) }
            let added = plan.entries.filter { $0.action == .add }.count
            Terminal.note("realm \(name) synced: \(added) added, \(plan.changes - added) updated, \(plan.entries.filter { $0.action == .unchanged }.count) unchanged.")
        }
    }
}
