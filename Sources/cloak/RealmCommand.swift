import ArgumentParser
import Cloakroom

struct RealmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realm",
        abstract: "Add, change, list and remove identity-provider realms.",
        discussion: """
            Examples:
              cloak realm add prod --issuer https://sso.example.com/realms/prod
              cloak realm list
              cloak realm sync prod --dry-run
            """,
        subcommands: [Add.self, Update.self, List.self, Show.self, Remove.self, Sync.self]
    )
}

extension RealmCommand {
    /// Asks the issuer of `settings` for its discovery document now. An issuer that cannot be
    /// reached is, unless `required`, a warning: the realm is stored anyway and the issuer is
    /// asked on the first token request. Any other failure (a document naming another issuer, an
    /// endpoint the realm's policy refuses, no document at all) is an error: nothing is stored.
    static func discover(_ settings: RealmSettings, for name: Name, deadline: Duration, required: Bool) throws -> ProviderMetadata? {
        do {
            return try blocking { try await settings.discoverProvider(for: name, deadline: deadline) }
        } catch let error as TokenError {
            guard case .unavailable = error, !required else { throw error }
            Terminal.note("warning: " + Advice.with("\(error).", error.next) + " Realm \(name) is stored without its token endpoint; the issuer will be asked on the first token request.")
            return nil
        }
    }

    static func describe(_ discovered: ProviderMetadata) -> String {
        "discovered from \(discovered.issuer): token endpoint \(discovered.tokenEndpoint)" + (discovered.jwksURI.map { ", JWKS \($0)" } ?? "")
    }

    /// `realm show` lines for what a realm added by issuer learned from its discovery document.
    static func discoveryLines(_ realm: Realm) -> [(String, String)] {
        guard realm.tokenURL == nil, realm.issuer != nil else { return [] }
        guard let discovered = realm.discovered else {
            return [("token endpoint", "- (not yet discovered: asked on the first token request)")]
        }
        return [
            ("token endpoint", discovered.tokenEndpoint),
            ("jwks uri", discovered.jwksURI ?? "-"),
            ("discovered", Output.time(discovered.discoveredAt)),
        ]
    }
}

/// The realm settings `add` and `update` share.
struct RealmSettingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The OIDC issuer, e.g. https://idp.example.com/realms/prod.", valueName: "url"))
    var issuer: String?

    @Option(name: .customLong("token-url"), help: ArgumentHelp("The token endpoint.", valueName: "url"))
    var tokenURL: String?

    @Option(name: .customLong("admin-url"), help: ArgumentHelp("The Keycloak admin API base, e.g. https://idp.example.com/admin/realms/prod.", valueName: "url"))
    var adminURL: String?

    @Option(help: ArgumentHelp("A PEM file of CA certificates to trust for this realm.", valueName: "path"))
    var caFile: String?

    @Option(help: ArgumentHelp("The client whose service account calls the admin API.", valueName: "realm/name"))
    var adminClient: String?

    @Flag(name: .customLong("allow-insecure-http"), help: "Allow plain-http URLs to hosts other than loopback.")
    var allowInsecureHTTP = false

    func apply(to settings: RealmSettings) throws -> RealmSettings {
        var settings = settings
        if let issuer { settings.issuer = issuer }
        if let tokenURL { settings.tokenURL = tokenURL }
        if let adminURL { settings.adminURL = adminURL }
        if let caFile { settings.caFile = Paths.absolute(caFile) }
        if let adminClient { settings.adminClient = try ClientRef(adminClient) }
        if allowInsecureHTTP { settings.allowsInsecureHTTP = true }
        return settings
    }
}

extension JSON {
    /// A realm in `--json` output.
    init(_ realm: Realm) {
        self = .object([
            "name": .string(realm.name.rawValue),
            "issuer": .optional(realm.issuer),
            "token_url": .optional(realm.tokenURL),
            "discovered_token_endpoint": .optional(realm.discovered?.tokenEndpoint),
            "discovered_jwks_uri": .optional(realm.discovered?.jwksURI),
            "discovered_at": .optional(realm.discovered.map { Output.time($0.discoveredAt) }),
            "admin_url": .optional(realm.adminURL),
            "ca_file": .optional(realm.caFile),
            "admin_client": .optional(realm.adminClient?.description),
            "keep_previous_seconds": .number(realm.keepPrevious.components.seconds),
            "rotate_every_seconds": realm.rotateEvery.map { .number($0.components.seconds) } ?? .null,
            "allow_insecure_http": .bool(realm.allowsInsecureHTTP),
            "clients": .optional(realm.clientCount),
            "created_at": .string(Output.time(realm.createdAt)),
            "updated_at": .string(Output.time(realm.updatedAt)),
        ])
    }
}
