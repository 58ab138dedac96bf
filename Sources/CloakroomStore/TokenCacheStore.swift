/// The token cache: sealed access tokens by client and request shape.
package protocol TokenCacheStore {
    /// The entry of client `name` of `realm` for `cacheKey` that expires after `cutoff` (Unix
    /// milliseconds) and is sealed for the client's current secret version, with the client's
    /// tag input read in the same query: a cache hit costs one indexed read.
    func token(realm: String, client name: String, cacheKey: String, expiringAfter cutoff: Int64) throws -> (CachedTokenRecord, ClientTagRecord)?

    /// Stores `record`, replacing the entry for the same client and cache key.
    func store(_ record: CachedTokenRecord) throws

    /// Drops the entries of client row `clientRowID`, or every entry; returns how many.
    @discardableResult
    func remove(clientRowID: Int64?) throws -> Int
    /// Drops the entries of every client of realm row `realmRowID`.
    func remove(realmRowID: Int64) throws

    /// Every entry without its token, by realm, client and cache key.
    func entries() throws -> [CachedTokenEntry]
}
