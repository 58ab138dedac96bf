import ArgumentParser
import Cloakroom

extension RealmCommand {
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one realm.",
            discussion: """
                Examples:
                  cloak realm show prod
                  cloak realm show prod --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The realm to show.", completion: Completion.realms) var name: String

        func run() throws {
            let realm = try options.openVault().realm(named: try Name(name, of: "realm name"))
            if output.json { return Output.json(JSON(realm)) }
            var lines = [
                ("realm", realm.name.rawValue),
                ("issuer", realm.issuer ?? "-"),
                ("token url", realm.tokenURL ?? "- (from the issuer's discovery document)"),
            ]
            lines += RealmCommand.discoveryLines(realm)
            lines += [
                ("admin url", realm.adminURL ?? "-"),
                ("ca file", realm.caFile ?? "- (system trust store)"),
                ("admin client", realm.adminClient?.description ?? "-"),
                ("keep previous", Durations.text(realm.keepPrevious.inSeconds)),
                ("rotate every", realm.rotateEvery.map { Durations.text($0.inSeconds) + " (clients without their own)" } ?? "-"),
                ("insecure http", realm.allowsInsecureHTTP ? "allowed" : "refused (except loopback)"),
                ("clients", String(realm.clientCount)),
                ("created", Output.time(realm.createdAt)),
                ("updated", Output.time(realm.updatedAt)),
            ]
            Output.record(lines)
        }
    }
}
