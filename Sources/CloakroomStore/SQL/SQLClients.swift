package import CloakroomCrypto

private let select = """
    SELECT c.id, r.name AS realm, c.name, c.client_id, c.auth_method, c.scopes, c.audience, c.rotate_every,
           s.version AS secret_version, s.state_changed_at AS secret_changed_at, c.created_at, c.updated_at
    FROM clients c
    JOIN realms r ON r.id = c.realm_id
    LEFT JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
    """

private let selectSecrets = """
    SELECT s.id, r.name AS realm, c.name AS client, c.id AS client_row, s.version, s.state, s.state_changed_at,
           \(realmEndpoint) AS endpoint, c.client_id, s.nonce, s.sealed
    FROM secret_versions s JOIN clients c ON c.id = s.client_id JOIN realms r ON r.id = c.realm_id
    """

/// Clients and secret versions in SQLite.
package struct SQLClients<Connection: SQLConnection>: ClientStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }


    private static func record(_ row: Connection.Row) -> ClientRecord {
        ClientRecord(
            rowID: row.integer("id"), realm: row.text("realm"), name: row.text("name"),
            fields: ClientFields(clientID: row.text("client_id"), authMethod: row.text("auth_method"), scopes: row.text("scopes"),
                                 audience: row.optionalText("audience"), rotateEvery: row.optionalInteger("rotate_every")),
            secretVersion: row.optionalInteger("secret_version"), secretChangedAt: row.optionalInteger("secret_changed_at"),
            createdAt: row.integer("created_at"), updatedAt: row.integer("updated_at"))
    }

    package func all(realm: String?) throws -> [ClientRecord] {
        guard let realm else { return try database.rows(select + " ORDER BY r.name, c.name", read: Self.record) }
        return try database.rows(select + " WHERE r.name = ? ORDER BY c.name", .text(realm), read: Self.record)
    }

    package func named(realm: String, name: String) throws -> ClientRecord? {
        try database.row(select + " WHERE r.name = ? AND c.name = ?", .text(realm), .text(name), read: Self.record)
    }

    package func rowIDs(realmRowID: Int64) throws -> [Int64] {
        try database.rows("SELECT id FROM clients WHERE realm_id = ? ORDER BY id", .integer(realmRowID)) { $0.integer("id") }
    }

    package func withoutCurrentSecret() throws -> [(realm: String, name: String)] {
        try database.rows("""
            SELECT r.name AS realm, c.name FROM clients c JOIN realms r ON r.id = c.realm_id
            WHERE NOT EXISTS (SELECT 1 FROM secret_versions s WHERE s.client_id = c.id AND s.state = 'current')
            ORDER BY r.name, c.name
            """) { (realm: $0.text("realm"), name: $0.text("name")) }
    }

    package func insert(realmRowID: Int64, name: String, _ fields: ClientFields, at now: Int64) throws -> Int64 {
        try database.insert(
            """
            INSERT INTO clients (realm_id, name, client_id, auth_method, scopes, audience, created_at, updated_at, rotate_every)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .integer(realmRowID), .text(name), .text(fields.clientID), .text(fields.authMethod), .text(fields.scopes),
            .optional(fields.audience), .integer(now), .integer(now), .optional(fields.rotateEvery))
    }

    package func update(rowID: Int64, _ fields: ClientFields, forgetIdPUUID: Bool, at now: Int64) throws {
        try database.execute(
            """
            UPDATE clients SET client_id = ?, auth_method = ?, scopes = ?, audience = ?, rotate_every = ?, updated_at = ?,
                               idp_uuid = CASE WHEN ? = 1 THEN NULL ELSE idp_uuid END
            WHERE id = ?
            """,
            .text(fields.clientID), .text(fields.authMethod), .text(fields.scopes), .optional(fields.audience),
            .optional(fields.rotateEvery), .integer(now), .integer(forgetIdPUUID ? 1 : 0), .integer(rowID))
    }

    package func setRotateEvery(_ seconds: Int64?, rowID: Int64, at now: Int64) throws {
        try database.execute("UPDATE clients SET rotate_every = ?, updated_at = ? WHERE id = ?", .optional(seconds), .integer(now), .integer(rowID))
    }

    package func rename(rowID: Int64, to name: String, at now: Int64) throws {
        try database.execute("UPDATE clients SET name = ?, updated_at = ? WHERE id = ?", .text(name), .integer(now), .integer(rowID))
    }

    package func remove(rowID: Int64) throws {
        try database.execute("DELETE FROM clients WHERE id = ?", .integer(rowID))
    }

    package func idpUUID(rowID: Int64) throws -> String? {
        try database.row("SELECT idp_uuid FROM clients WHERE id = ?", .integer(rowID)) { $0.optionalText("idp_uuid") } ?? nil
    }

    package func setIdPUUID(_ uuid: String?, rowID: Int64) throws {
        try database.execute("UPDATE clients SET idp_uuid = ? WHERE id = ?", .optional(uuid), .integer(rowID))
    }

    // MARK: Secret versions

    package func insertSecret(clientRowID: Int64, version: Int64, state: SecretState, sealed: SealedBox, createdAt: Int64, stateChangedAt: Int64) throws {
        try database.execute(
            """
            INSERT INTO secret_versions (client_id, version, state, nonce, sealed, created_at, state_changed_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            """,
            .integer(clientRowID), .integer(version), .text(state.rawValue), .blob(sealed.nonce), .blob(sealed.ciphertext),
            .integer(createdAt), .integer(stateChangedAt))
    }


    private static func secret(_ row: Connection.Row) -> SealedSecretRecord {
        var sealed: SealedBox?
        if let nonce = row.optionalBlob("nonce"), let ciphertext = row.optionalBlob("sealed") {
            sealed = SealedBox(nonce: nonce, ciphertext: ciphertext)
        }
        return SealedSecretRecord(
            rowID: row.integer("id"), realm: row.text("realm"), client: row.text("client"), clientRowID: row.integer("client_row"),
            version: row.integer("version"), state: SecretState(rawValue: row.text("state")) ?? .retired,
            stateChangedAt: row.integer("state_changed_at"), endpoint: row.text("endpoint"), clientID: row.text("client_id"),
            sealed: sealed)
    }

    package func secrets(_ selection: SecretSelection) throws -> [SealedSecretRecord] {
        let sql = selectSecrets
        switch selection {
        case .sealed:
            return try database.rows(sql + " WHERE s.sealed IS NOT NULL ORDER BY s.id", read: Self.secret)
        case .sealedInRealm(let realmRowID):
            return try database.rows(sql + " WHERE s.sealed IS NOT NULL AND c.realm_id = ? ORDER BY s.id", .integer(realmRowID), read: Self.secret)
        case .current(let realm, let name):
            return try database.rows(sql + " WHERE r.name = ? AND c.name = ? AND s.state = 'current'", .text(realm), .text(name), read: Self.secret)
        case .currentInRealms(let realmRowIDs):
            let marks = realmRowIDs.map { _ in "?" }.joined(separator: ", ")
            return try database.rows(sql + " WHERE c.realm_id IN (\(marks)) AND s.state = 'current' ORDER BY r.name, c.name",
                                     realmRowIDs.map(SQLValue.integer), read: Self.secret)
        case .version(let clientRowID, let state, let version):
            return try database.rows(sql + " WHERE s.client_id = ? AND s.state = \(state.sql) AND s.version = ? AND s.sealed IS NOT NULL",
                                     .integer(clientRowID), .integer(version), read: Self.secret)
        }
    }

    package func reseal(rowID: Int64, _ sealed: SealedBox) throws {
        try database.execute("UPDATE secret_versions SET nonce = ?, sealed = ? WHERE id = ?", .blob(sealed.nonce), .blob(sealed.ciphertext), .integer(rowID))
    }

    package func highestVersion(clientRowID: Int64) throws -> Int64 {
        try database.row("SELECT coalesce(max(version), 0) AS version FROM secret_versions WHERE client_id = ?", .integer(clientRowID)) {
            $0.integer("version")
        } ?? 0
    }

    package func newestVersion(clientRowID: Int64, in state: SecretState) throws -> Int64? {
        try database.row("SELECT max(version) AS version FROM secret_versions WHERE client_id = ? AND state = \(state.sql)",
                         .integer(clientRowID)) { $0.optionalInteger("version") } ?? nil
    }

    package func moveSecrets(clientRowID: Int64, from: SecretState?, version: Int64?, to: SecretState, at now: Int64) throws -> Int {
        // Conditions only for what was given: a `? IS NULL` test leaves PostgreSQL no type to infer.
        let drop = to == .retired ? ", nonce = NULL, sealed = NULL" : ""
        var sql = "UPDATE secret_versions SET state = ?\(drop), state_changed_at = ? WHERE client_id = ?"
        var arguments: [SQLValue] = [.text(to.rawValue), .integer(now), .integer(clientRowID)]
        if let from {
            sql += " AND state = \(from.sql)"
        } else {
            sql += " AND state <> 'retired'"
        }
        if let version {
            sql += " AND version = ?"
            arguments.append(.integer(version))
        }
        return try database.execute(sql, arguments)
    }

    package func retireExpiredPrevious(clientRowID: Int64?, now: Int64) throws -> Int {
        try database.execute(
            """
            UPDATE secret_versions SET state = 'retired', nonce = NULL, sealed = NULL, state_changed_at = ?1
            WHERE state = 'previous'\(clientRowID == nil ? "" : " AND client_id = ?2")
              AND state_changed_at + (SELECT r.keep_previous FROM clients c JOIN realms r ON r.id = c.realm_id
                                      WHERE c.id = secret_versions.client_id) <= ?1
            """,
            clientRowID.map { [.integer(now), .integer($0)] } ?? [.integer(now)])
    }
}
