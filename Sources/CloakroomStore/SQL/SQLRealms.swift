import CloakroomCrypto

private let select = """
    SELECT r.id, r.name, r.issuer, r.token_url, r.admin_url, r.ca_file, r.admin_client_id, r.allow_http,
           ar.name AS admin_realm, ac.name AS admin_name,
           (SELECT count(*) FROM clients c WHERE c.realm_id = r.id) AS client_count, r.created_at, r.updated_at,
           r.keep_previous, r.rotate_every, r.trust_tag,
           d.issuer AS d_issuer, d.token_endpoint AS d_token_endpoint, d.jwks_uri AS d_jwks_uri,
           d.discovered_at AS d_discovered_at, d.nonce AS d_nonce, d.seal AS d_seal
    FROM realms r
    LEFT JOIN realm_discovery d ON d.realm_id = r.id
    LEFT JOIN clients ac ON ac.id = r.admin_client_id
    LEFT JOIN realms ar ON ar.id = ac.realm_id
    """

/// The endpoint a realm's secrets are sealed for: its token URL, else its issuer. Said once
/// here; every query that needs it interpolates this.
let realmEndpoint = "coalesce(r.token_url, r.issuer)"

/// Realms in SQLite.
package struct SQLRealms<Connection: SQLConnection>: RealmStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }



    private static func record(_ row: Connection.Row) -> RealmRecord {
        let rowID = row.integer("id")
        var admin: (realm: String, name: String)?
        if let realm = row.optionalText("admin_realm"), let name = row.optionalText("admin_name") { admin = (realm, name) }
        var discovery: DiscoveryRecord?
        if let issuer = row.optionalText("d_issuer") {
            discovery = DiscoveryRecord(
                realmRowID: rowID, issuer: issuer, tokenEndpoint: row.text("d_token_endpoint"), jwksURI: row.optionalText("d_jwks_uri"),
                discoveredAt: row.integer("d_discovered_at"), seal: SealedBox(nonce: row.blob("d_nonce"), ciphertext: row.blob("d_seal")))
        }
        return RealmRecord(
            rowID: rowID, name: row.text("name"),
            settings: RealmSettingsRecord(
                issuer: row.optionalText("issuer"), tokenURL: row.optionalText("token_url"), adminURL: row.optionalText("admin_url"),
                caFile: row.optionalText("ca_file"), adminClientRowID: row.optionalInteger("admin_client_id"),
                allowsInsecureHTTP: row.integer("allow_http") != 0),
            adminClient: admin, clientCount: row.integer("client_count"), createdAt: row.integer("created_at"),
            updatedAt: row.integer("updated_at"), keepPrevious: row.integer("keep_previous"), rotateEvery: row.optionalInteger("rotate_every"), discovery: discovery,
            trustTag: row.optionalBlob("trust_tag"))
    }

    package func all() throws -> [RealmRecord] {
        try database.rows(select + " ORDER BY r.name", read: Self.record)
    }

    package func named(_ name: String) throws -> RealmRecord? {
        try database.row(select + " WHERE r.name = ?", .text(name), read: Self.record)
    }

    package func row(_ rowID: Int64) throws -> RealmRecord? {
        try database.row(select + " WHERE r.id = ?", .integer(rowID), read: Self.record)
    }

    package func overviews(now: Int64) throws -> [RealmOverviewRecord] {
        try database.rows(
            """
            SELECT r.name,
                   (SELECT min(s.state_changed_at) FROM clients c JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
                    WHERE c.realm_id = r.id) AS oldest,
                   (SELECT count(*) FROM clients c JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
                    WHERE c.realm_id = r.id AND c.rotate_every IS NOT NULL AND s.state_changed_at + c.rotate_every <= ?1) AS due,
                   (SELECT max(e.time) FROM events e WHERE e.realm = r.name AND e.action = 'token.fetched' AND e.outcome = 'ok') AS fetched
            FROM realms r ORDER BY r.name
            """, .integer(now)
        ) { row in
            RealmOverviewRecord(realm: row.text("name"), oldestSecretAt: row.optionalInteger("oldest"), rotationsDue: row.integer("due"),
                                lastTokenFetchedAt: row.optionalInteger("fetched"))
        }
    }

    package func realmAdministered(byClientRowID clientRowID: Int64) throws -> String? {
        try database.row("SELECT name FROM realms WHERE admin_client_id = ?", .integer(clientRowID)) { $0.text("name") }
    }

    package func insert(name: String, _ settings: RealmSettingsRecord, keepPrevious: Int64?, at now: Int64) throws -> Int64 {
        try database.insert(
            """
            INSERT INTO realms (name, issuer, token_url, admin_url, ca_file, admin_client_id, allow_http, created_at, updated_at, keep_previous)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, coalesce(?, 604800))
            """,
            .text(name), .optional(settings.issuer), .optional(settings.tokenURL), .optional(settings.adminURL),
            .optional(settings.caFile), .optional(settings.adminClientRowID), .integer(settings.allowsInsecureHTTP ? 1 : 0),
            .integer(now), .integer(now), .optional(keepPrevious))
    }

    package func update(rowID: Int64, _ settings: RealmSettingsRecord, at now: Int64) throws {
        try database.execute(
            """
            UPDATE realms SET issuer = ?, token_url = ?, admin_url = ?, ca_file = ?, admin_client_id = ?, allow_http = ?, updated_at = ?
            WHERE id = ?
            """,
            .optional(settings.issuer), .optional(settings.tokenURL), .optional(settings.adminURL), .optional(settings.caFile),
            .optional(settings.adminClientRowID), .integer(settings.allowsInsecureHTTP ? 1 : 0), .integer(now), .integer(rowID))
    }

    package func setKeepPrevious(_ seconds: Int64, rowID: Int64, at now: Int64) throws {
        try database.execute("UPDATE realms SET keep_previous = ?, updated_at = ? WHERE id = ?", .integer(seconds), .integer(now), .integer(rowID))
    }

    package func setRotateEvery(_ seconds: Int64?, rowID: Int64, at now: Int64) throws {
        try database.execute("UPDATE realms SET rotate_every = ?, updated_at = ? WHERE id = ?", .optional(seconds), .integer(now), .integer(rowID))
    }

    package func setTrustTag(_ tag: [UInt8], rowID: Int64) throws {
        try database.execute("UPDATE realms SET trust_tag = ? WHERE id = ?", .blob(tag), .integer(rowID))
    }

    package func remove(rowID: Int64) throws {
        try database.execute("DELETE FROM realms WHERE id = ?", .integer(rowID))
    }

    package func discovery(realmRowID: Int64) throws -> DiscoveryRecord? {
        try database.row("SELECT issuer, token_endpoint, jwks_uri, discovered_at, nonce, seal FROM realm_discovery WHERE realm_id = ?",
                         .integer(realmRowID)) { row in
            DiscoveryRecord(realmRowID: realmRowID, issuer: row.text("issuer"), tokenEndpoint: row.text("token_endpoint"),
                            jwksURI: row.optionalText("jwks_uri"), discoveredAt: row.integer("discovered_at"),
                            seal: SealedBox(nonce: row.blob("nonce"), ciphertext: row.blob("seal")))
        }
    }

    package func storeDiscovery(_ record: DiscoveryRecord) throws {
        try database.execute(
            """
            INSERT INTO realm_discovery (realm_id, issuer, token_endpoint, jwks_uri, discovered_at, nonce, seal)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (realm_id) DO UPDATE SET
                issuer = excluded.issuer, token_endpoint = excluded.token_endpoint, jwks_uri = excluded.jwks_uri,
                discovered_at = excluded.discovered_at, nonce = excluded.nonce, seal = excluded.seal
            """,
            .integer(record.realmRowID), .text(record.issuer), .text(record.tokenEndpoint), .optional(record.jwksURI),
            .integer(record.discoveredAt), .blob(record.seal.nonce), .blob(record.seal.ciphertext))
    }

    package func forgetDiscovery(realmRowID: Int64?) throws {
        guard let realmRowID else {
            try database.execute("DELETE FROM realm_discovery")
            return
        }
        try database.execute("DELETE FROM realm_discovery WHERE realm_id = ?", .integer(realmRowID))
    }
}
