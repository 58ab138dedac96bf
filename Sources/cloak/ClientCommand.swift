import ArgumentParser
import Cloakroom

struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Add, list, show and remove clients and their sealed secrets.",
        discussion: """
            Examples:
              pass orders | cloak client add prod/orders --client-id orders --secret-stdin
              cloak client list --realm prod
              cloak client show prod/orders --json
            """,
        subcommands: [Add.self, Update.self, List.self, Show.self, Remove.self]
    )
}

extension ClientCommand {
    /// A client's secret: from stdin with `--secret-stdin` (to its end; one trailing newline is
    /// removed), or typed at a prompt without echo when stdin is a terminal (with or without the
    /// flag: echoing a secret typed up to Ctrl-D is never what a person at a terminal wants).
    static func readSecret(for ref: ClientRef, fromStdin: Bool) throws -> ClientSecret {
        guard Terminal.isInteractive else {
            guard fromStdin else {
                throw UsageError("no secret given: pipe it in with --secret-stdin (e.g. from a file or a password manager), or run on a terminal to be prompted.")
            }
            return try ClientSecret.read(from: 0)
        }
        return try Terminal.withoutEcho(prompt: "Client secret for \(ref): ") { try ClientSecret.read(from: 0, line: true) }
    }

    /// Runs `body`, which asks the identity provider before it writes. A refusal, or an IdP that
    /// cannot be asked, is reported as such, with the fact that nothing was `done` and how to
    /// write it unchecked; its exit status is the token error's (11 refused, 10 unavailable…).
    static func checkingWithIdP<T>(nothing done: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as TokenError {
            if case .rejected(_, _, let code, let description) = error, !TokenError.refusesTheGrant(error: code, description: description) {
                // Its usual advice is about a stored client; this one is not stored (so).
                Terminal.error("\(error.message) Check the client_id, the secret and --auth (basic or post) with whoever runs the identity provider.")
            } else {
                Terminal.error(Advice.explain(error))
            }
            Terminal.error("nothing was \(done). To store it without asking the identity provider (offline, or a client not set up there yet), add --no-verify.")
            throw Reported.credentialRefused(error)
        }
    }
}

/// `--auth basic|post`: the short names of the two client-secret methods.
enum AuthChoice: String, ExpressibleByArgument, CaseIterable {
    case basic, post

    var method: AuthMethod { self == .basic ? .clientSecretBasic : .clientSecretPost }
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
            "rotate_every_seconds": .optional(client.rotateEvery.map { Int($0.components.seconds) }),
            "created_at": .string(Output.time(client.createdAt)),
            "updated_at": .string(Output.time(client.updatedAt)),
        ])
    }
}
