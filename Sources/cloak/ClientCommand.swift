import ArgumentParser
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Add, list, show and remove clients and their sealed secrets.",
        subcommands: [Add.self, Update.self, List.self, Show.self, Remove.self]
    )
}

/// `--auth basic|post`: the short names of the two client-secret methods.
enum AuthChoice: String, ExpressibleByArgument, CaseIterable {
    case basic, post

    var method: AuthMethod { self == .basic ? .clientSecretBasic : .clientSecretPost }
}

extension ClientCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a client; its secret comes from stdin or a prompt, never the command line.",
            discussion: """
                The secret is read from stdin with --secret-stdin (to its end; one trailing newline \
                is removed), or typed at a prompt without echo when stdin is a terminal. There is \
                deliberately no option that takes the secret itself: ps and shell history would keep it.
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client's name in this vault.", valueName: "realm/name")) var ref: String

        @Option(name: .customLong("client-id"), help: "The client_id at the identity provider.")
        var clientID: String

        @Option(help: "How the client authenticates: basic (client_secret_basic, the default) or post.")
        var auth: AuthChoice = .basic

        @Option(help: "A scope to request; repeat for several.")
        var scope: [String] = []

        @Option(help: "An audience to request (for servers that take one).")
        var audience: String?

        @Flag(help: "Read the secret from stdin.")
        var secretStdin = false

        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the secret on this schedule with `cloak rotate --due` (e.g. 90d).", valueName: "duration"))
        var rotateEvery: String?

        func run() throws {
            let ref = try ClientRef(ref)
            let interval = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
            let settings = ClientSettings(clientID: clientID, authMethod: auth.method, scopes: scope.flatMap { $0.split(separator: " ").map(String.init) }, audience: audience)
            let vault = try options.openVault()
            _ = try vault.realm(named: ref.realm)  // say "no such realm" before asking for anything
            let unlocked = try vault.unlock(with: options.credentials(for: vault))
            let secret = try readSecret(for: ref)
            var client = try unlocked.addClient(ref, settings, secret: secret)
            if let interval {
                try unlocked.setRotationInterval(interval, of: ref)
                client.rotateEvery = interval
            }
            Terminal.note("added client \(client.ref) (client_id \(client.clientID), secret version 1)")
        }

        private func readSecret(for ref: ClientRef) throws -> ClientSecret {
            if secretStdin { return try ClientSecret.read(from: 0) }
            guard Terminal.isInteractive else {
                throw UsageError("no secret given: pipe it in with --secret-stdin (e.g. from a file or a password manager), or run on a terminal to be prompted.")
            }
            return try Terminal.withoutEcho(prompt: "Client secret for \(ref): ") { try ClientSecret.read(from: 0, line: true) }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a client's rotation schedule, or accept its row as it is (--reauthenticate).",
            discussion: """
                To change its secret, use `cloak rotate`; to change its client_id, remove and add it again.

                --reauthenticate accepts a client that cloak refuses because its row was changed \
                outside cloak, or was stored before client rows were authenticated: check \
                `cloak client show REALM/NAME` first, since what it shows is what will be used. \
                `cloak client update REALM --reauthenticate` accepts, in one step, every client of \
                the realm stored before client rows were authenticated (after an upgrade); a client \
                changed outside cloak is still accepted only by its own name.
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to change (with --reauthenticate alone, a realm: its clients from before client rows were authenticated).", valueName: "realm/name"))
        var ref: String
        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the secret on this schedule with `cloak rotate --due` (e.g. 90d).", valueName: "duration"))
        var rotateEvery: String?
        @Flag(name: .customLong("no-rotate-every"), help: "Rotate it only when asked.") var noRotateEvery = false
        @Flag(help: "Accept the client's name, realm, settings and secret versions as `cloak client show` shows them.")
        var reauthenticate = false

        func validate() throws {
            guard !(rotateEvery != nil && noRotateEvery), reauthenticate || rotateEvery != nil || noRotateEvery else {
                throw ValidationError("give --rotate-every DURATION, --no-rotate-every or --reauthenticate.")
            }
        }

        func run() throws {
            if reauthenticate, rotateEvery == nil, !noRotateEvery, !ref.contains("/") {
                let realm = try Name(ref, of: "realm name")
                let accepted = try options.unlockVault().reauthenticateUntaggedClients(in: realm)
                Terminal.note(accepted.isEmpty ? "no client of realm \(realm) is waiting to be accepted"
                              : "accepted \(accepted.count) client\(accepted.count == 1 ? "" : "s") of realm \(realm) as `cloak client list` shows them: "
                                + accepted.map(\.name.rawValue).joined(separator: ", "))
                return
            }
            let ref = try ClientRef(ref)
            let interval = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
            let vault = try options.unlockVault()
            if reauthenticate {
                try vault.reauthenticateClient(ref)
                Terminal.note("\(ref) is accepted as `cloak client show \(ref)` shows it")
            }
            guard rotateEvery != nil || noRotateEvery else { return }
            try vault.setRotationInterval(interval, of: ref)
            Terminal.note(interval.map { "\(ref) is rotated every \(Durations.text($0)) by `cloak rotate --due`" } ?? "\(ref) is rotated only when asked")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List clients (never their secrets).")

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only the clients of this realm.") var realm: String?
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

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one client (never its secret).")

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("The client to show.", valueName: "realm/name")) var ref: String

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
                ("rotate every", client.rotateEvery.map(Durations.text) ?? "-"),
                ("created", Output.time(client.createdAt)),
                ("updated", Output.time(client.updatedAt)),
            ])
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client and every version of its secret.")

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to remove.", valueName: "realm/name")) var ref: String

        func run() throws {
            let ref = try ClientRef(ref)
            try options.unlockVault().removeClient(ref)
            Terminal.note("removed client \(ref) and its secrets")
        }
    }
}

extension AuthMethod {
    var shortName: String { self == .clientSecretBasic ? "basic" : "post" }
}

extension JSON {
    /// A client in `--json` output. There is no field for the secret.
    init(_ client: Client) {
        self = .object([
            "client": .string(client.ref.description),
            "realm": .string(client.ref.realm.rawValue),
            "name": .string(client.ref.name.rawValue),
            "client_id": .string(client.clientID),
            "auth_method": .string(client.authMethod.rawValue),
            "scopes": .strings(client.scopes),
            "audience": .optional(client.audience),
            "secret_version": .optional(client.secretVersion),
            "secret_updated_at": .optional(client.secretUpdatedAt.map(Output.time)),
            "rotate_every_seconds": .optional(client.rotateEvery.map { Int($0) }),
            "created_at": .string(Output.time(client.createdAt)),
            "updated_at": .string(Output.time(client.updatedAt)),
        ])
    }
}
