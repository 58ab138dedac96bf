/// Realms: the identity-provider realms a vault's clients belong to.
package protocol RealmStore {
    /// Every realm, by name.
    func all() throws -> [RealmRecord]
    /// The realm called `name`, if any.
    func named(_ name: String) throws -> RealmRecord?
    /// The realm in row `rowID`, if any.
    func row(_ rowID: Int64) throws -> RealmRecord?
    /// Per realm, by name: the oldest current secret's `state_changed_at`, how many clients'
    /// rotation interval has passed at `now`, and the last token fetched (Unix milliseconds,
    /// from the audit log). All Unix seconds unless said otherwise.
    func overviews(now: Int64) throws -> [RealmOverviewRecord]
    /// The name of the realm whose admin client is client row `clientRowID`, if any.
    func realmAdministered(byClientRowID clientRowID: Int64) throws -> String?

    /// Adds realm `name`; `keepPrevious` in seconds, the store's default (7 days) when `nil`.
    /// Returns the new row's id.
    func insert(name: String, _ settings: RealmSettingsRecord, keepPrevious: Int64?, at now: Int64) throws -> Int64
    func update(rowID: Int64, _ settings: RealmSettingsRecord, at now: Int64) throws
    func setKeepPrevious(_ seconds: Int64, rowID: Int64, at now: Int64) throws
    /// Sets the realm-wide rotation schedule, in seconds (`nil`: none).
    func setRotateEvery(_ seconds: Int64?, rowID: Int64, at now: Int64) throws
    func setTrustTag(_ tag: [UInt8], rowID: Int64) throws
    /// Removes the realm and, with it, its clients, their secrets and cached tokens.
    func remove(rowID: Int64) throws

    /// The stored discovery result of realm row `realmRowID`, if any.
    func discovery(realmRowID: Int64) throws -> DiscoveryRecord?
    /// Stores `record`, replacing the realm's previous one.
    func storeDiscovery(_ record: DiscoveryRecord) throws
    /// Forgets the discovery result of realm row `realmRowID`, or of every realm.
    func forgetDiscovery(realmRowID: Int64?) throws
}

/// A realm at a glance; see `RealmStore.overviews(now:)`.
package struct RealmOverviewRecord: Sendable {
    package var realm: String
    package var oldestSecretAt: Int64?
    package var rotationsDue: Int64
    package var lastTokenFetchedAt: Int64?
}
