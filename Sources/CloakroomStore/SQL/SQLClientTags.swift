/// What a client's tag covers, as columns over `c` (clients) joined with `r` (its realm), then
/// the stored tag. A query that checks a tag selects these too, so the check costs no query of
/// its own (the cached-token read carries them).
///
/// Retired versions are left out (they hold no secret, and a long-lived client has many). A
/// version's `state_changed_at` is covered too: it decides when `--due` rotates and when a
/// previous secret is retired.
let clientTagColumns = """
    c.id AS tag_client_row, r.id AS tag_realm_row, r.name AS tag_realm, r.keep_previous AS tag_keep_previous,
    r.rotate_every AS tag_realm_rotate_every,
    c.name AS tag_name, c.client_id AS tag_client_id, c.auth_method AS tag_auth_method, c.scopes AS tag_scopes,
    c.audience AS tag_audience, c.rotate_every AS tag_rotate_every,
    (SELECT group_concat(v.version || ' ' || v.state || ' ' || v.state_changed_at) FROM secret_versions v
     WHERE v.client_id = c.id AND v.state <> 'retired') AS tag_versions,
    (SELECT group_concat(j.id || ' ' || j.from_version || ' ' || j.to_version || ' ' || j.mode || ' ' || j.state)
     FROM rotations j WHERE j.client_id = c.id AND j.state IN ('prepared', 'pushed')) AS tag_rotations,
    c.trust_tag AS tag
    """

private let query = "SELECT " + clientTagColumns + " FROM clients c JOIN realms r ON r.id = c.realm_id "

/// Client tags in SQLite.
package struct SQLClientTags<Connection: SQLConnection>: ClientTagStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }


    /// Reads `columns` from `row`. (`group_concat` joins with commas; no item holds one.)
    static func record(_ row: Connection.Row) -> ClientTagRecord {
        ClientTagRecord(
            clientRowID: row.integer("tag_client_row"), realmRowID: row.integer("tag_realm_row"), realm: row.text("tag_realm"),
            keepPrevious: row.integer("tag_keep_previous"), name: row.text("tag_name"), clientID: row.text("tag_client_id"),
            authMethod: row.text("tag_auth_method"), scopes: row.text("tag_scopes"), audience: row.optionalText("tag_audience"),
            rotateEvery: row.optionalInteger("tag_rotate_every"), realmRotateEvery: row.optionalInteger("tag_realm_rotate_every"),
            versions: (row.optionalText("tag_versions") ?? "").split(separator: ",").map(String.init),
            openRotations: (row.optionalText("tag_rotations") ?? "").split(separator: ",").map(String.init),
            tag: row.optionalBlob("tag"))
    }


    package func tagInputs(_ selection: ClientSelection) throws -> [ClientTagRecord] {
        switch selection {
        case .named(let realm, let name):
            return try database.rows(query + "WHERE r.name = ? AND c.name = ?", .text(realm), .text(name), read: Self.record)
        case .row(let rowID):
            return try database.rows(query + "WHERE c.id = ?", .integer(rowID), read: Self.record)
        case .inRealms(let realmRowIDs):
            let marks = realmRowIDs.map { _ in "?" }.joined(separator: ", ")
            return try database.rows(query + "WHERE c.realm_id IN (\(marks)) ORDER BY r.name, c.name",
                                     realmRowIDs.map(SQLValue.integer), read: Self.record)
        case .all:
            return try database.rows(query + "ORDER BY r.name, c.name", read: Self.record)
        }
    }

    package func setTag(_ tag: [UInt8], clientRowID: Int64) throws {
        try database.execute("UPDATE clients SET trust_tag = ? WHERE id = ?", .blob(tag), .integer(clientRowID))
    }

    package func untaggedClients(realmRowID: Int64) throws -> [(rowID: Int64, name: String)] {
        try database.rows("SELECT id, name FROM clients WHERE realm_id = ? AND trust_tag IS NULL ORDER BY name", .integer(realmRowID)) {
            (rowID: $0.integer("id"), name: $0.text("name"))
        }
    }
}
