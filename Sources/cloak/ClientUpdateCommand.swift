import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a client in place: its secret, client_id, auth, scopes, audience, name or rotation schedule.",
            discussion: """
                What is given changes; the rest stays. A change to what a token request sends (the \
                secret, client_id, auth, scopes, audience) is checked first: the identity provider \
                is asked for a token as the client will ask once changed, and nothing is changed if \
                it refuses (exit 11). That token is cached. --no-verify changes it unchecked.

                --secret-stdin stores the secret the IdP has now (regenerated in its console, say) \
                as a new version, and keeps the old one as previous, as a rotation does. To have \
                cloak change the secret at the IdP too, use `cloak rotate`. A new client_id names \
                another client at the IdP: the secret versions kept for the old one are retired.

                --rename changes the client's name within its realm; its secrets, cached tokens and \
                history stay with it. Scripts, agent consumers (`--clients` globs) and configs that \
                name it must follow.

                --reauthenticate accepts a client that cloak refuses because its row was changed \
                outside cloak, or was stored before client rows were authenticated: check \
                `cloak client show REALM/NAME` first, since what it shows is what will be used. \
                `cloak client update REALM --reauthenticate` accepts, in one step, every client of \
                the realm stored before client rows were authenticated (after an upgrade); a client \
                changed outside cloak is still accepted only by its own name.

                Examples:
                  pass orders-new | cloak client update prod/orders --secret-stdin
                  cloak client update prod/orders --client-id orders-svc --auth post
                  cloak client update prod/orders --scope orders:read --scope orders:write
                  cloak client update prod/orders --rename orders-api
                  cloak client update prod/orders --rotate-every 30d
                  cloak client update prod --reauthenticate
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to change (with --reauthenticate alone, a realm: its clients from before client rows were authenticated).", valueName: "realm/name"), completion: Completion.clients)
        var ref: String
        @Flag(help: "Read a new secret from stdin (a prompt without echo on a terminal).") var secretStdin = false
        @Option(name: .customLong("client-id"), help: "A new client_id at the identity provider.") var clientID: String?
        @Option(help: "How it authenticates: basic (client_secret_basic) or post (client_secret_post).") var auth: AuthChoice?
        @Option(help: "The scopes to request, replacing the stored ones; repeat for several.") var scope: [String] = []
        @Flag(name: .customLong("no-scope"), help: "Request no scopes of its own.") var noScope = false
        @Option(help: "The audience to request, replacing the stored one.") var audience: String?
        @Flag(name: .customLong("no-audience"), help: "Request no audience.") var noAudience = false
        @Option(help: ArgumentHelp("A new name within its realm.", valueName: "name")) var rename: String?
        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the secret on this schedule with `cloak rotate --due` (e.g. 90d).", valueName: "duration"))
        var rotateEvery: String?
        @Flag(name: .customLong("no-rotate-every"), help: "Rotate it only when asked.") var noRotateEvery = false
        @Flag(name: .customLong("no-verify"), help: "Change it without asking the identity provider for a token first.") var noVerify = false
        @Flag(help: "Accept the client's name, realm, settings and secret versions as `cloak client show` shows them.")
        var reauthenticate = false

        /// Whether anything beyond --reauthenticate is asked for.
        private var changesSomething: Bool {
            secretStdin || clientID != nil || auth != nil || !scope.isEmpty || noScope || audience != nil || noAudience
                || rename != nil || rotateEvery != nil || noRotateEvery
        }

        func validate() throws {
            for (a, b, names) in [(!scope.isEmpty, noScope, "--scope and --no-scope"), (audience != nil, noAudience, "--audience and --no-audience"),
                                  (rotateEvery != nil, noRotateEvery, "--rotate-every and --no-rotate-every")] where a && b {
                throw ValidationError("\(names) contradict each other: give one.")
            }
            guard reauthenticate || changesSomething else {
                throw ValidationError("nothing to change: give --secret-stdin, --client-id, --auth, --scope, --audience, --rename, --rotate-every (or their --no- forms) or --reauthenticate.")
            }
        }

        func run() throws {
            if reauthenticate, !changesSomething, !ref.contains("/") {
                let realm = try Name(ref, of: "realm name")
                let accepted = try options.unlockVault().reauthenticateUntaggedClients(in: realm)
                Terminal.note(accepted.isEmpty ? "no client of realm \(realm) is waiting to be accepted"
                              : "accepted \(accepted.count) client\(accepted.count == 1 ? "" : "s") of realm \(realm) as `cloak client list` shows them: "
                                + accepted.map(\.name.rawValue).joined(separator: ", "))
                return
            }
            let ref = try ClientRef(ref)
            let interval = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
            let newName = try rename.map { try Name($0, of: "client name") }
            let vault = try options.unlockVault()
            if reauthenticate {
                try vault.reauthenticateClient(ref)
                Terminal.note("\(ref) is accepted as `cloak client show \(ref)` shows it")
            }
            guard changesSomething else { return }
            var change = ClientChange(try vault.vault.client(ref))
            if let newName { change.name = newName }
            if let clientID { change.settings.clientID = clientID }
            if let auth { change.settings.authMethod = auth.method }
            if !scope.isEmpty || noScope { change.settings.scopes = scope.flatMap { $0.split(separator: " ").map(String.init) } }
            if audience != nil || noAudience { change.settings.audience = audience }
            if interval != nil || noRotateEvery { change.rotateEvery = interval.map { .seconds($0) } }
            let secret = try secretStdin ? ClientCommand.readSecret(for: ref, fromStdin: true) : nil
            let broker = try options.broker(over: vault)
            let verify = !noVerify
            let update = try ClientCommand.checkingWithIdP(nothing: "changed") {
                try blocking { [change] in try await broker.updateClient(ref, to: change, secret: secret, verify: verify) }
            }
            guard !update.changes.isEmpty else {
                return Terminal.note("\(ref) is as asked already; nothing was changed" + (update.verified ? " (the identity provider issued a token, now cached)" : ""))
            }
            Terminal.note("updated \(update.client.ref): " + update.changes.joined(separator: "; ")
                          + (update.verified ? "; verified: the identity provider issued a token, now cached" : ""))
        }
    }
}
