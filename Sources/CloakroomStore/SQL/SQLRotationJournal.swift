private let select = """
    SELECT j.id, r.name AS realm, c.name AS client, c.id AS client_row, j.from_version, j.to_version, j.mode, j.state, j.started_at
    FROM rotations j JOIN clients c ON c.id = j.client_id JOIN realms r ON r.id = c.realm_id
    """

/// The rotation journal in SQLite.
package struct SQLRotationJournal<Connection: SQLConnection>: RotationJournalStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }


    private static func record(_ row: Connection.Row) -> RotationRecord {
        RotationRecord(
            id: row.integer("id"), realm: row.text("realm"), client: row.text("client"), clientRowID: row.integer("client_row"),
            fromVersion: row.integer("from_version"), toVersion: row.integer("to_version"), mode: row.text("mode"),
            state: row.text("state"), startedAt: row.integer("started_at"))
    }

    package func open(realm: String, client name: String) throws -> RotationRecord? {
        try database.row(select + " WHERE r.name = ? AND c.name = ? AND j.state IN ('prepared', 'pushed')",
                         .text(realm), .text(name), read: Self.record)
    }

    package func allOpen() throws -> [RotationRecord] {
        try database.rows(select + " WHERE j.state IN ('prepared', 'pushed') ORDER BY r.name, c.name", read: Self.record)
    }

    package func insert(clientRowID: Int64, from: Int64, to: Int64, mode: String, at now: Int64) throws -> Int64 {
        try database.insert(
            "INSERT INTO rotations (client_id, from_version, to_version, mode, state, started_at, updated_at) VALUES (?, ?, ?, ?, 'prepared', ?, ?)",
            .integer(clientRowID), .integer(from), .integer(to), .text(mode), .integer(now), .integer(now))
    }

    package func setState(id: Int64, _ state: String, detail: String, at now: Int64) throws {
        try database.execute("UPDATE rotations SET state = ?, updated_at = ?, detail = ? WHERE id = ?",
                             .text(state), .integer(now), .text(detail), .integer(id))
    }

    package func state(id: Int64) throws -> String? {
        try database.row("SELECT state FROM rotations WHERE id = ?", .integer(id)) { $0.text("state") }
    }

    package func statuses(realm: String?, client: String?) throws -> [RotationStatusRecord] {
        let conditions = [realm.map { _ in "r.name = ?" }, client.map { _ in "c.name = ?" }].compactMap(\.self)
        return try database.rows(
            """
            SELECT r.name AS realm, c.name AS client, coalesce(c.rotate_every, r.rotate_every) AS rotate_every,
                   c.rotate_every IS NULL AND r.rotate_every IS NOT NULL AS from_realm, s.state_changed_at, s.version,
                   (SELECT group_concat(p.version) FROM secret_versions p WHERE p.client_id = c.id AND p.state = 'previous') AS previous,
                   EXISTS (SELECT 1 FROM rotations j WHERE j.client_id = c.id AND j.state IN ('prepared', 'pushed')) AS open
            FROM clients c JOIN realms r ON r.id = c.realm_id
            LEFT JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY r.name, c.name
            """, [realm, client].compactMap { $0.map(SQLValue.text) }
        ) { row in
            RotationStatusRecord(
                realm: row.text("realm"), client: row.text("client"), rotateEvery: row.optionalInteger("rotate_every"),
                scheduleFromRealm: row.integer("from_realm") != 0,
                secretChangedAt: row.optionalInteger("state_changed_at"), secretVersion: row.optionalInteger("version"),
                previousVersions: (row.optionalText("previous") ?? "").split(separator: ",").compactMap { Int64($0) },
                hasOpenRotation: row.integer("open") != 0)
        }
    }
}
