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
