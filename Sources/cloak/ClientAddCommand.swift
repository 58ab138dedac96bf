import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a client; its secret comes from stdin or a prompt, never the command line.",
            discussion: """
                The secret is read from stdin with --secret-stdin (to its end; one trailing newline \
                is removed), or typed at a prompt without echo when stdin is a terminal. There is \
                deliberately no option that takes the secret itself: ps and shell history would keep it.

                Before anything is stored, the identity provider is asked for a token with the \
                secret: a wrong secret, client_id or --auth is refused now (exit 11), not at the \
                first `cloak token`, and that token is cached. --no-verify stores it unchecked.

                Examples:
                  pass orders | cloak client add prod/orders --client-id orders --secret-stdin
                  cloak client add prod/billing --client-id billing --rotate-every 90d
                  cloak client add lab/ci --client-id ci --secret-stdin --no-verify < ci.secret
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client's name in this vault.", valueName: "realm/name")) var ref: String

        @Option(name: .customLong("client-id"), help: "The client_id at the identity provider.")
        var clientID: String

        @Option(help: "How the client authenticates: basic (client_secret_basic) or post (client_secret_post).")
        var auth: AuthChoice = .basic

        @Option(help: "A scope to request; repeat for several.")
        var scope: [String] = []

        @Option(help: "An audience to request (for servers that take one).")
        var audience: String?

        @Flag(help: "Read the secret from stdin.")
        var secretStdin = false

        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the secret on this schedule with `cloak rotate --due` (e.g. 90d).", valueName: "duration"))
        var rotateEvery: String?

        @Flag(name: .customLong("no-verify"), help: "Store it without asking the identity provider for a token first (offline, or a client not set up there yet).")
        var noVerify = false

        func run() throws {
            let ref = try ClientRef(ref)
            let interval = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
            let settings = ClientSettings(clientID: clientID, authMethod: auth.method, scopes: scope.flatMap { $0.split(separator: " ").map(String.init) }, audience: audience)
            let vault = try options.openVault()
            _ = try vault.realm(named: ref.realm)  // say "no such realm" before asking for anything
            let unlocked = try vault.unlock(with: options.credentials(for: vault))
            let secret = try ClientCommand.readSecret(for: ref, fromStdin: secretStdin)
            let broker = try options.broker(over: unlocked)
            let verify = !noVerify
            let client = try ClientCommand.checkingWithIdP(nothing: "stored") {
                try blocking { try await broker.addClient(ref, settings, secret: secret, rotateEvery: interval.map { .seconds($0) }, verify: verify) }
            }
            Terminal.note("added client \(client.ref) (client_id \(client.clientID), secret version 1, "
                          + (verify ? "verified: the identity provider issued a token, now cached)" : "not verified: `cloak token \(client.ref)` checks it)"))
        }
    }
}
