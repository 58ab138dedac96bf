/// A client row as its authentication tag sees it: everything that decides which credential a
/// name stands for and how it is used, and the stored tag. The domain MACs these fields (in this
/// order) under a vault subkey; a store only reads them, in one query with whatever it serves.
package struct ClientTagRecord: Sendable {
    package var clientRowID: Int64
    package var realmRowID: Int64
    package var realm: String
    /// The realm's keep-previous period, in seconds.
    package var keepPrevious: Int64
    package var name: String
    package var clientID: String
    package var authMethod: String
    /// Space-separated.
    package var scopes: String
    package var audience: String?
    /// Seconds; `nil` when the client has no schedule.
    package var rotateEvery: Int64?
    /// The realm's schedule for clients without their own, in seconds; `nil` when it has none.
    package var realmRotateEvery: Int64?
    /// Each non-retired secret version as "VERSION STATE STATE_CHANGED_AT", in no promised order.
    package var versions: [String]
    /// Each open rotation as "ID FROM TO MODE STATE", in no promised order.
    package var openRotations: [String]
    /// The stored MAC; `nil` for a row written before tags existed.
    package var tag: [UInt8]?

    package init(clientRowID: Int64, realmRowID: Int64, realm: String, keepPrevious: Int64, name: String, clientID: String,
                 authMethod: String, scopes: String, audience: String?, rotateEvery: Int64?, realmRotateEvery: Int64? = nil, versions: [String],
                 openRotations: [String], tag: [UInt8]?) {
        self.clientRowID = clientRowID
        self.realmRowID = realmRowID
        self.realm = realm
        self.keepPrevious = keepPrevious
        self.name = name
        self.clientID = clientID
        self.authMethod = authMethod
        self.scopes = scopes
        self.audience = audience
        self.rotateEvery = rotateEvery
        self.realmRotateEvery = realmRotateEvery
        self.versions = versions
        self.openRotations = openRotations
        self.tag = tag
    }
}

/// Which client rows to read tags of.
package enum ClientSelection: Sendable {
    case named(realm: String, name: String)
    case row(Int64)
    case inRealms([Int64])
    case all
}
