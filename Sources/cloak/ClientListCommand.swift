import ArgumentParser
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension ClientCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients (never their secrets).",
            discussion: """
                Examples:
                  cloak client list
                  cloak client list --match 'prod/svc-*' --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only the clients of this realm.", completion: Completion.realms) var realm: String?
        @Option(help: ArgumentHelp("Only clients whose name (or REALM/NAME, when the glob has a /) matches this shell glob, e.g. 'svc-*'.", valueName: "glob"))
        var match: String?

        func run() throws {
            var clients = try options.openVault().clients(in: realm.map { try Name($0, of: "realm name") })
            if let match {
                let path = match.contains("/")
                clients = clients.filter { fnmatch(match, path ? $0.ref.description : $0.ref.name.rawValue, 0) == 0 }
            }
            if output.json { return Output.json(.array(clients.map(JSON.init))) }
            Output.table(["CLIENT", "CLIENT ID", "AUTH", "SECRET"], clients.map {
                [$0.ref.description, $0.clientID, $0.authMethod.shortName, $0.secretVersion.map { "v\($0)" } ?? "none"]
            })
        }
    }
}
