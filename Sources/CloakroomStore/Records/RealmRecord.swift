package import CloakroomCrypto

/// A realm's settings as stored: what decides where its secrets and admin tokens go.
package struct RealmSettingsRecord: Sendable, Equatable {
    package var issuer: String?
    package var tokenURL: String?
    package var adminURL: String?
    package var caFile: String?
    package var adminClientRowID: Int64?
    package var allowsInsecureHTTP: Bool

    package init(issuer: String?, tokenURL: String?, adminURL: String?, caFile: String?, adminClientRowID: Int64?, allowsInsecureHTTP: Bool) {
        self.issuer = issuer
        self.tokenURL = tokenURL
        self.adminURL = adminURL
        self.caFile = caFile
        self.adminClientRowID = adminClientRowID
        self.allowsInsecureHTTP = allowsInsecureHTTP
    }
}

/// A realm as listings show it, with its admin client's name and its stored discovery result.
package struct RealmRecord: Sendable {
    package var rowID: Int64
    package var name: String
    package var settings: RealmSettingsRecord
    /// The admin client as realm and name.
    package var adminClient: (realm: String, name: String)?
    package var clientCount: Int64
    /// Unix seconds.
    package var createdAt: Int64
    package var updatedAt: Int64
    /// How long a previous secret stays valid after a rotation, in seconds.
    package var keepPrevious: Int64
    /// How often its clients without a schedule of their own are rotated, in seconds.
    package var rotateEvery: Int64?
    package var discovery: DiscoveryRecord?
    /// The MAC over the settings, `nil` for a row from before migration 0007.
    package var trustTag: [UInt8]?
}

/// What a realm's issuer said in its discovery document, with the seal that authenticates it.
package struct DiscoveryRecord: Sendable {
    package var realmRowID: Int64
    package var issuer: String
    package var tokenEndpoint: String
    package var jwksURI: String?
    /// Unix seconds.
    package var discoveredAt: Int64
    /// An empty plaintext sealed under the row's fields: only its tag matters.
    package var seal: SealedBox

    package init(realmRowID: Int64, issuer: String, tokenEndpoint: String, jwksURI: String?, discoveredAt: Int64, seal: SealedBox) {
        self.realmRowID = realmRowID
        self.issuer = issuer
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.discoveredAt = discoveredAt
        self.seal = seal
    }
}
