/// The live state of one client, changed by the admin API.
struct ClientRecord: Sendable {
    var id: String
    var clientId: String
    var name: String?
    var secret: String?
    var enabled: Bool
    var publicClient: Bool
    var bearerOnly: Bool
    var serviceAccountsEnabled: Bool
    /// Present once service accounts were enabled; Keycloak keeps the user after disabling.
    var serviceAccountUser: ServiceAccountUser?
    var defaultClientScopes: [String]
    var optionalClientScopes: [String]
    /// Attributes in the representation, including the secret's creation and rotation times.
    var attributes: [String: String]
    var notBefore: Int
    var realmRoles: [String]
    var clientRoles: [String: [String]]
    /// Representation fields the emulator stores but does not interpret (redirectUris, rootUrl…),
    /// so a GET after a PUT returns what was put.
    var otherFields: JSONObject

    /// Whether a secret authenticates this client; see ``SecretRotation``.
    var isConfidential: Bool { !publicClient && !bearerOnly }

    /// Keycloak stores usernames lower-case; service-account names follow the clientId.
    var serviceAccountUsername: String { "service-account-" + clientId.lowercased() }
}

/// The user behind a client's service account.
struct ServiceAccountUser: Sendable {
    var id: String
    var enabled: Bool
    var createdTimestamp: Int
}

/// Attribute names Keycloak uses for secret creation and rotation.
enum SecretAttribute {
    static let creationTime = "client.secret.creation.time"
    static let expirationTime = "client.secret.expiration.time"
    static let rotated = "client.secret.rotated"
    static let rotatedCreationTime = "client.secret.rotated.creation.time"
    static let rotatedExpirationTime = "client.secret.rotated.expiration.time"

    static let rotationKeys = [expirationTime, rotated, rotatedCreationTime, rotatedExpirationTime]
}

extension ClientRecord: CustomStringConvertible {
    // A record holds the secret: never print it, not even in a test failure.
    var description: String { "ClientRecord(clientId: \(clientId), id: \(id))" }
}
