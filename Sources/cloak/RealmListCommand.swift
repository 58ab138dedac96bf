import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension RealmCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the realms.",
            discussion: """
                Examples:
                  cloak realm list
                  cloak realm list --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let now = Date()
            let overviews = try options.openVault().realmOverviews(now: now)
            if output.json {
                return Output.json(.array(overviews.map { overview in
                    guard case .fields(var fields) = JSON(overview.realm) else { return JSON(overview.realm) }
                    fields += [
                        ("oldest_secret_at", .optional(overview.oldestSecretAt.map(Output.time))),
                        ("rotations_due", .number(Int64(overview.rotationsDue))),
                        ("last_token_fetched_at", .optional(overview.lastTokenFetchedAt.map(Output.time))),
                    ]
                    return .fields(fields)
                }))
            }
            Output.table(["REALM", "CLIENTS", "OLDEST SECRET", "DUE", "LAST TOKEN", "TOKEN ENDPOINT"], overviews.map { overview in
                [overview.realm.name.rawValue, String(overview.realm.clientCount),
                 overview.oldestSecretAt.map { Durations.age(now.timeIntervalSince($0)) } ?? "-",
                 String(overview.rotationsDue),
                 overview.lastTokenFetchedAt.map { Durations.age(now.timeIntervalSince($0)) + " ago" } ?? "never",
                 overview.realm.tokenURL ?? overview.realm.discovered?.tokenEndpoint ?? "- (not yet discovered)"]
            })
        }
    }
}
