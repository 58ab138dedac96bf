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

                Examples:
                  pass orders | cloak client add prod/orders --client-id orders --secret-stdin
                  cloak client add prod/billing --client-id billing --rotate-every 90d
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
                try unlocked.setRotationInterval(.seconds(interval), of: ref)
                client.rotateEvery = .seconds(interval)
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
}
