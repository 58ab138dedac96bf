import CloakroomCrypto
import CloakroomStore

/// What a client is, apart from its secret.
public struct ClientSettings: Sendable, Equatable {
    /// The `client_id` at the identity provider.
    public var clientID: String
    public var authMethod: AuthMethod
    public var scopes: [String]
    public var audience: String?

    public init(clientID: String, authMethod: AuthMethod = .clientSecretBasic, scopes: [String] = [], audience: String? = nil) {
        self.clientID = clientID
        self.authMethod = authMethod
        self.scopes = scopes
        self.audience = audience
    }

    func validated() throws -> ClientSettings {
        guard (1...255).contains(clientID.utf8.count), !clientID.containsControlCharacters else {
            throw VaultError(.invalidInput, "the client_id must be 1 to 255 characters without control characters.")
        }
        _ = try TokenRequestShape(scopes: scopes, audience: audience).validated()
        return self
    }
}

extension UnlockedVault {
    /// Adds client `ref` with `secret` sealed as its version 1.
    /// - Throws: `VaultError` `.notFound` (realm), `.alreadyExists`, `.invalidInput`.
    @discardableResult
    public func addClient(_ ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret) throws -> Client {
        let settings = try settings.validated()
        try database.writeTransaction {
            let realm = try vault.realm(named: ref.realm)
            guard try database.row("SELECT 1 FROM clients WHERE realm_id = ? AND name = ?",
                                   .integer(realm.rowID), .text(ref.name.rawValue), read: { _ in true }) == nil else {
                throw VaultError(.alreadyExists, "a client '\(ref)' exists already; remove it first to store it anew.")
            }
            try insertClient(ref.name, in: realm, settings, secret: secret)
            try record(.clientAdded, realm: ref.realm, client: ref.name,
                       detail: "client_id \(settings.clientID), \(settings.authMethod.rawValue), secret version 1")
        }
        return try vault.client(ref)
    }

    /// Inserts client `name` of `realm` with validated `settings` and `secret` sealed as its
    /// current version 1, inside the caller's transaction. Returns the client's row id.
    /// - Parameter secretSince: when the secret became current (now, unless it comes from elsewhere).
    @discardableResult
    func insertClient(_ name: Name, in realm: Realm, _ settings: ClientSettings, secret: ClientSecret,
                      rotateEvery: Int64? = nil, secretSince: Int64? = nil) throws -> Int64 {
        let now = vault.now
        try database.execute(
            """
            INSERT INTO clients (realm_id, name, client_id, auth_method, scopes, audience, created_at, updated_at, rotate_every)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .integer(realm.rowID), .text(name.rawValue), .text(settings.clientID), .text(settings.authMethod.rawValue),
            .text(settings.scopes.joined(separator: " ")), .optional(settings.audience), .integer(now), .integer(now),
            rotateEvery.map(SQLValue.integer) ?? .null)
        let rowID = database.lastInsertedRowID
        try insertCurrentSecret(secret, version: 1, clientRowID: rowID, endpoint: realm.secretEndpoint, clientID: settings.clientID,
                                since: secretSince ?? now)
        try stampClient(rowID: rowID)
        return rowID
    }

    /// Seals `secret` as the client's current `version`. Inside the caller's transaction; the
    /// client must have no current version left (a unique index enforces it).
    func insertCurrentSecret(_ secret: ClientSecret, version: Int, clientRowID: Int64, endpoint: String, clientID: String, since: Int64) throws {
        let box = seal(secret, for: SecretSlot(clientRowID: clientRowID, version: version, endpoint: endpoint, clientID: clientID))
        try database.execute(
            """
            INSERT INTO secret_versions (client_id, version, state, nonce, sealed, created_at, state_changed_at)
            VALUES (?, ?, 'current', ?, ?, ?, ?)
            """,
            .integer(clientRowID), .integer(Int64(version)), .blob(box.nonce), .blob(box.ciphertext), .integer(vault.now), .integer(since))
    }

    /// Removes client `ref` and every version of its secret.
    /// - Throws: `VaultError` `.notFound`; `.conflict` while it is a realm's admin client.
    public func removeClient(_ ref: ClientRef) throws {
        try database.writeTransaction {
            let client = try vault.client(ref)
            if let realm = try database.row("SELECT name FROM realms WHERE admin_client_id = ?", .integer(client.rowID), read: { $0.text(0) }) {
                throw VaultError(.conflict, "\(ref) is the admin client of realm '\(realm)'; choose another with `cloak realm update \(realm) --admin-client …` first.")
            }
            try database.execute("DELETE FROM clients WHERE id = ?", .integer(client.rowID))
            try record(.clientRemoved, realm: ref.realm, client: ref.name, detail: "client_id \(client.clientID)")
        }
    }

    /// The current secret of `ref`, opened.
    /// - Throws: `VaultError` `.notFound`; `.corrupted` when it was altered, moved, or re-pointed,
    ///   or `ref`'s row was changed outside cloak (its name may stand for another client's secret).
    public func currentSecret(of ref: ClientRef) throws -> ClientSecret {
        try requireAuthentic(ref)
        return try openCurrentSecret(of: ref)
    }

    /// The current secret of `ref`, opened, for a caller that has checked `ref`'s row already.
    func openCurrentSecret(of ref: ClientRef) throws -> ClientSecret {
        let sql = """
            SELECT c.id, s.version, coalesce(r.token_url, r.issuer), c.client_id, s.nonce, s.sealed
            FROM clients c JOIN realms r ON r.id = c.realm_id
            JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
            WHERE r.name = ? AND c.name = ?
            """
        let found = try database.row(sql, .text(ref.realm.rawValue), .text(ref.name.rawValue)) { row in
            (SecretSlot(clientRowID: row.integer(0), version: Int(row.integer(1)), endpoint: row.text(2), clientID: row.text(3)),
             SealedBox(nonce: row.optionalBlob(4) ?? [], ciphertext: row.optionalBlob(5) ?? []))
        }
        guard let (slot, box) = found else {
            _ = try vault.client(ref)
            throw VaultError(.corrupted, "\(ref) has no current secret; the vault was edited outside cloak. Store its secret again.")
        }
        return try open(box, for: slot, of: ref)
    }
}
