import CloakroomCrypto

/// Built once: a cache hit should not pay for string interpolation.
private let lookup = """
    SELECT \(clientTagColumns),
           t.secret_version, \(realmEndpoint) AS endpoint, t.issued_at, t.expires_at, t.scope, t.nonce, t.sealed
    FROM cached_tokens t
    JOIN clients c ON c.id = t.client_id
    JOIN realms r ON r.id = c.realm_id
    JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current' AND s.version = t.secret_version
    WHERE r.name = ? AND c.name = ? AND t.cache_key = ? AND t.expires_at > ?
    """

/// The token cache in SQLite.
package struct SQLTokenCache<Connection: SQLConnection>: TokenCacheStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }


    package func token(realm: String, client name: String, cacheKey: String, expiringAfter cutoff: Int64) throws -> (CachedTokenRecord, ClientTagRecord)? {
        try database.row(lookup, .text(realm), .text(name), .text(cacheKey), .integer(cutoff)) { row in
            let client = SQLClientTags<Connection>.record(row)
            let token = CachedTokenRecord(
                clientRowID: client.clientRowID, cacheKey: cacheKey, secretVersion: row.integer("secret_version"),
                endpoint: row.text("endpoint"), issuedAt: row.integer("issued_at"), expiresAt: row.integer("expires_at"),
                scope: row.optionalText("scope"), sealed: SealedBox(nonce: row.blob("nonce"), ciphertext: row.blob("sealed")))
            return (token, client)
        }
    }

    package func store(_ record: CachedTokenRecord) throws {
        try database.execute(
            """
            INSERT INTO cached_tokens (client_id, cache_key, secret_version, issued_at, expires_at, scope, nonce, sealed)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (client_id, cache_key) DO UPDATE SET
                secret_version = excluded.secret_version, issued_at = excluded.issued_at, expires_at = excluded.expires_at,
                scope = excluded.scope, nonce = excluded.nonce, sealed = excluded.sealed
            """,
            .integer(record.clientRowID), .text(record.cacheKey), .integer(record.secretVersion), .integer(record.issuedAt),
            .integer(record.expiresAt), .optional(record.scope), .blob(record.sealed.nonce), .blob(record.sealed.ciphertext))
    }

    package func remove(clientRowID: Int64?) throws -> Int {
        guard let clientRowID else { return try database.execute("DELETE FROM cached_tokens") }
        return try database.execute("DELETE FROM cached_tokens WHERE client_id = ?", .integer(clientRowID))
    }

    package func remove(realmRowID: Int64) throws {
        try database.execute("DELETE FROM cached_tokens WHERE client_id IN (SELECT id FROM clients WHERE realm_id = ?)", .integer(realmRowID))
    }

    package func entries() throws -> [CachedTokenEntry] {
        try database.rows("""
            SELECT r.name AS realm, c.name AS client, t.cache_key, t.secret_version, t.issued_at, t.expires_at, t.scope
            FROM cached_tokens t JOIN clients c ON c.id = t.client_id JOIN realms r ON r.id = c.realm_id
            ORDER BY r.name, c.name, t.cache_key
            """) { row in
            CachedTokenEntry(realm: row.text("realm"), client: row.text("client"), cacheKey: row.text("cache_key"),
                             secretVersion: row.integer("secret_version"), issuedAt: row.integer("issued_at"),
                             expiresAt: row.integer("expires_at"), scope: row.optionalText("scope"))
        }
    }
}
