/// One client of a realm, as the configuration file describes it.
///
/// Field names follow Keycloak's `ClientRepresentation` so that a realm export is easy to adapt.
public struct ClientConfiguration: Sendable, Equatable {
    /// The OAuth `client_id`.
    public var clientId: String
    /// The internal id used in admin API paths; a random UUID when `nil`.
    public var id: String?
    /// Display name.
    public var name: String?
    /// The client secret; generated (see ``Compatibility/secretLength``) when `nil` for a
    /// confidential client. Public and bearer-only clients hold none.
    public var secret: String?
    /// Disabled clients cannot authenticate (401 `invalid_client`).
    public var enabled: Bool = true
    /// Public clients authenticate without a secret and may not use client_credentials.
    public var publicClient: Bool = false
    /// Bearer-only clients cannot obtain tokens.
    public var bearerOnly: Bool = false
    /// Whether the client has a service account (required for client_credentials).
    public var serviceAccountsEnabled: Bool = true
    /// Whether the service-account user is enabled.
    public var serviceAccountUserEnabled: Bool = true
    /// Scopes always granted; those marked "include in token scope" show in `scope`.
    public var defaultClientScopes: [String] = ClientConfiguration.keycloakDefaultScopes
    /// Scopes granted only when requested with `scope`.
    public var optionalClientScopes: [String] = ClientConfiguration.keycloakOptionalScopes
    /// Client attributes, e.g. `access.token.lifespan`, `client.secret.creation.time`.
    public var attributes: [String: String] = [:]
    /// Realm roles of the service-account user (besides the realm's default roles).
    public var realmRoles: [String] = []
    /// Client roles of the service-account user by clientId, e.g. `["realm-management": ["manage-clients"]]`.
    /// Master-realm accounts administer realm `X` through roles of client `X-realm`, or everything
    /// through the realm role `admin`.
    public var clientRoles: [String: [String]] = [:]

    /// Keycloak 25+'s default client scopes of a new OIDC client.
    public static let keycloakDefaultScopes = ["web-origins", "acr", "profile", "roles", "basic", "email"]
    /// Keycloak 26's optional client scopes of a new OIDC client.
    public static let keycloakOptionalScopes = ["address", "phone", "offline_access", "organization", "microprofile-jwt"]

    /// A confidential client with a service account and Keycloak's default scopes.
    public init(clientId: String, secret: String? = nil) {
        self.clientId = clientId
        self.secret = secret
    }
}

extension ClientConfiguration: CustomStringConvertible {
    // Keeps the secret out of logs, test failure messages and debugger output.
    public var description: String {
        "ClientConfiguration(clientId: \(clientId), secret: \(secret == nil ? "nil" : "<redacted>"))"
    }
}
