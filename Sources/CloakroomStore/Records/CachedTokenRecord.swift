package import CloakroomCrypto

/// One sealed entry of the token cache, with where it belongs: the domain binds all of it into
/// the sealed value's associated data, so a row moved or edited does not open.
package struct CachedTokenRecord: Sendable {
    package var clientRowID: Int64
    /// The request's shape as text (see `TokenRequestShape.cacheKey`).
    package var cacheKey: String
    package var secretVersion: Int64
    /// The endpoint the client's secret is bound to now: its realm's token URL, else its issuer.
    package var endpoint: String
    /// Unix milliseconds.
    package var issuedAt: Int64
    /// Unix milliseconds.
    package var expiresAt: Int64
    package var scope: String?
    package var sealed: SealedBox

    package init(clientRowID: Int64, cacheKey: String, secretVersion: Int64, endpoint: String, issuedAt: Int64, expiresAt: Int64,
                 scope: String?, sealed: SealedBox) {
        self.clientRowID = clientRowID
        self.cacheKey = cacheKey
        self.secretVersion = secretVersion
        self.endpoint = endpoint
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.scope = scope
        self.sealed = sealed
    }
}

/// A cache entry as listings show it: never the token.
package struct CachedTokenEntry: Sendable {
    package var realm: String
    package var client: String
    package var cacheKey: String
    package var secretVersion: Int64
    package var issuedAt: Int64
    package var expiresAt: Int64
    package var scope: String?
}
