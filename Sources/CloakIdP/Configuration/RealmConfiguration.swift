/// One realm and its clients.
public struct RealmConfiguration: Sendable, Equatable {
    /// The realm name used in every path.
    public var name: String
    /// A disabled realm refuses tokens (403 `Realm not enabled`).
    public var enabled: Bool = true
    /// Access-token lifespan in seconds; Keycloak's defaults are 300, and 60 for `master`.
    public var accessTokenLifespan: Int?
    /// When plain HTTP is refused: Keycloak's `sslRequired`.
    public var sslRequired: SSLRequired = .external
    /// Dual-secret rotation (Keycloak's preview feature plus a `secret-rotation` client policy);
    /// `nil` is Keycloak's default: a new secret replaces the old one at once.
    public var secretRotation: SecretRotationPolicy?
    /// The realm's clients.
    public var clients: [ClientConfiguration] = []
    /// Add the clients every Keycloak realm has (`account`, `admin-cli`, `realm-management`…),
    /// so that listing clients returns them as Keycloak does. Configured clients of the same
    /// clientId take precedence.
    public var builtInClients: Bool = true

    /// A realm with default settings.
    public init(name: String, clients: [ClientConfiguration] = []) {
        self.name = name
        self.clients = clients
    }

    /// The lifespan that applies when the file gives none.
    public var effectiveAccessTokenLifespan: Int {
        accessTokenLifespan ?? (name == "master" ? 60 : 300)
    }
}

extension RealmConfiguration {
    /// The built-in clients of a new Keycloak 26 realm, in their default shape; in `master` also
    /// one `{realm}-realm` admin-role container per realm. Flags follow a default 26.x install
    /// (UNCONFIRMED in detail beyond public/bearer-only/service-account status).
    static func builtInClients(realm: String, allRealms: [String]) -> [ClientConfiguration] {
        func client(_ clientId: String, publicClient: Bool = false, bearerOnly: Bool = false) -> ClientConfiguration {
            var client = ClientConfiguration(clientId: clientId)
            client.publicClient = publicClient
            client.bearerOnly = bearerOnly
            client.serviceAccountsEnabled = false
            client.name = "${client_\(clientId)}"
            return client
        }
        var clients = [
            client("account", publicClient: true),
            client("account-console", publicClient: true),
            client("admin-cli", publicClient: true),
            client("broker", bearerOnly: true),
            client("security-admin-console", publicClient: true),
        ]
        if realm == "master" {
            clients += allRealms.map { var c = client("\($0)-realm", bearerOnly: true); c.name = "\($0) Realm"; return c }
        } else {
            clients.append(client("realm-management", bearerOnly: true))
        }
        return clients
    }
}

/// Keycloak's `sslRequired` realm setting.
public enum SSLRequired: String, Sendable, Equatable {
    /// Plain HTTP is accepted from anywhere.
    case none
    /// Plain HTTP is accepted from loopback and private addresses only (Keycloak's default).
    case external
    /// Plain HTTP is always refused with 403 `HTTPS required`.
    case all
}

/// The `secret-rotation` executor's periods, in seconds (Keycloak's defaults).
public struct SecretRotationPolicy: Sendable, Equatable {
    /// How long a new secret is valid: `client.secret.expiration.time` = creation + this.
    public var expirationPeriod: Int = 2_592_000
    /// How long the previous secret keeps working after a rotation; 0 drops it at once.
    public var rotatedExpirationPeriod: Int = 172_800

    /// The defaults: 30 days and 2 days.
    public init(expirationPeriod: Int = 2_592_000, rotatedExpirationPeriod: Int = 172_800) {
        self.expirationPeriod = expirationPeriod
        self.rotatedExpirationPeriod = rotatedExpirationPeriod
    }
}
