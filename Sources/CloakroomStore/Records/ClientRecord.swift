package import CloakroomCrypto

/// A client as stored, with its current secret version (not the secret).
package struct ClientRecord: Sendable {
    package var rowID: Int64
    package var realm: String
    package var name: String
    package var fields: ClientFields
    package var secretVersion: Int64?
    /// Unix seconds: when the current version became current.
    package var secretChangedAt: Int64?
    package var createdAt: Int64
    package var updatedAt: Int64
}

/// What a client is at the identity provider, and its rotation schedule.
package struct ClientFields: Sendable, Equatable {
    package var clientID: String
    package var authMethod: String
    /// Space-separated.
    package var scopes: String
    package var audience: String?
    /// Seconds; `nil` for no schedule.
    package var rotateEvery: Int64?

    package init(clientID: String, authMethod: String, scopes: String, audience: String?, rotateEvery: Int64?) {
        self.clientID = clientID
        self.authMethod = authMethod
        self.scopes = scopes
        self.audience = audience
        self.rotateEvery = rotateEvery
    }
}

/// The life of a secret version: `pending` while a rotation runs, then `current`, then
/// `previous` (kept for rollback), then `retired` (its ciphertext dropped).
package enum SecretState: String, Sendable {
    case pending, current, previous, retired

    /// The state as an SQL literal, for a query to compare `state` with. Not a bound parameter:
    /// `secret_versions` has partial indexes on `state = 'current'` and `state = 'pending'`, so
    /// SQLite plans with a bound state's value and prepares the statement again whenever the next
    /// binding differs (a promote's two moves did, every time: 2 % of a bulk rotation's profile).
    /// One statement per state instead, each cached.
    var sql: String { "'\(rawValue)'" }
}

/// One secret version with everything its seal binds: the client row, the version, the
/// endpoint of its realm and its client_id.
package struct SealedSecretRecord: Sendable {
    /// The version's own row.
    package var rowID: Int64
    package var realm: String
    package var client: String
    package var clientRowID: Int64
    package var version: Int64
    package var state: SecretState
    /// Unix seconds.
    package var stateChangedAt: Int64
    package var endpoint: String
    package var clientID: String
    /// `nil` once retired.
    package var sealed: SealedBox?
}

/// Which secret versions to read.
package enum SecretSelection: Sendable {
    /// Every version that still holds a sealed value, in every realm.
    case sealed
    /// Every version that still holds a sealed value, of the clients of realm row `realmRowID`.
    case sealedInRealm(Int64)
    /// The current version of client `name` of `realm`.
    case current(realm: String, name: String)
    /// The current versions of the clients of these realm rows, by realm and client name.
    case currentInRealms([Int64])
    /// Version `version` of client row `clientRowID`, in state `state`, while it holds a sealed value.
    case version(clientRowID: Int64, state: SecretState, version: Int64)
}
