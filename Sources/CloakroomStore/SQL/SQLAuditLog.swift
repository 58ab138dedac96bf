private let columns = "seq, time, os_user, host, command, action, realm, client, outcome, detail"

/// The audit log in SQLite (migration 0004: triggers refuse to change or delete an event).
package struct SQLAuditLog<Connection: SQLConnection>: AuditLogStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }


    private static func record(_ row: Connection.Row) -> AuditEventRecord {
        AuditEventRecord(
            seq: row.integer("seq"), time: row.integer("time"), user: row.text("os_user"), host: row.text("host"),
            command: row.text("command"), action: row.text("action"), realm: row.optionalText("realm"),
            client: row.optionalText("client"), outcome: row.text("outcome"), detail: row.text("detail"))
    }

    package func events(realm: String?, client: String?, since: Int64?, limit: Int?) throws -> [AuditEventRecord] {
        var conditions: [String] = []
        var arguments: [SQLValue] = []
        if let realm {
            conditions.append("realm = ?")
            arguments.append(.text(realm))
        }
        if let client {
            conditions.append("client = ?")
            arguments.append(.text(client))
        }
        if let since {
            conditions.append("time >= ?")
            arguments.append(.integer(since))
        }
        if let limit { arguments.append(.integer(Int64(limit))) }
        let sql = """
            SELECT \(columns) FROM events
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY seq DESC\(limit == nil ? "" : " LIMIT ?")
            """
        return Array(try database.rows(sql, arguments, read: Self.record).reversed())
    }

    package func forEachEvent(_ body: (AuditEventRecord, [UInt8]) throws -> Void) throws {
        _ = try database.rows("SELECT \(columns), mac FROM events ORDER BY seq") { row in
            try body(Self.record(row), row.blob("mac"))
        }
    }

    package func events(after seq: Int64, limit: Int) throws -> [AuditEventRecord] {
        try database.rows("SELECT \(columns) FROM events WHERE seq > ? ORDER BY seq LIMIT ?", .integer(seq), .integer(Int64(limit)),
                          read: Self.record)
    }

    package func last() throws -> (seq: Int64, mac: [UInt8])? {
        try database.row("SELECT seq, mac FROM events ORDER BY seq DESC LIMIT 1") { (seq: $0.integer("seq"), mac: $0.blob("mac")) }
    }

    package func holdForAppend() throws {
        try database.holdAuditLogForAppend()
    }

    package func head() throws -> AuditHeadRecord? {
        try database.row("SELECT count, last_mac, mac FROM audit_head WHERE singleton = 1") {
            AuditHeadRecord(count: $0.integer("count"), lastMAC: $0.blob("last_mac"), mac: $0.blob("mac"))
        }
    }

    package func tail() throws -> (head: AuditHeadRecord?, last: (seq: Int64, mac: [UInt8])?) {
        try database.row(
            """
            SELECT (SELECT count FROM audit_head WHERE singleton = 1) AS head_count,
                   (SELECT last_mac FROM audit_head WHERE singleton = 1) AS head_last_mac,
                   (SELECT mac FROM audit_head WHERE singleton = 1) AS head_mac,
                   (SELECT seq FROM events ORDER BY seq DESC LIMIT 1) AS last_seq,
                   (SELECT mac FROM events ORDER BY seq DESC LIMIT 1) AS last_mac
            """
        ) { row in
            (head: row.optionalInteger("head_count").map { AuditHeadRecord(count: $0, lastMAC: row.blob("head_last_mac"), mac: row.blob("head_mac")) },
             last: row.optionalInteger("last_seq").map { (seq: $0, mac: row.blob("last_mac")) })
        } ?? (nil, nil)
    }

    package func append(_ event: AuditEventRecord, mac: [UInt8]) throws {
        try database.execute(
            """
            INSERT INTO events (seq, time, os_user, host, command, action, realm, client, outcome, detail, mac)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """,
            .integer(event.seq), .integer(event.time), .text(event.user), .text(event.host), .text(event.command),
            .text(event.action), .optional(event.realm), .optional(event.client), .text(event.outcome), .text(event.detail), .blob(mac))
    }

    package func setHead(_ head: AuditHeadRecord) throws {
        try database.execute(
            """
            INSERT INTO audit_head (singleton, count, last_mac, mac) VALUES (1, ?, ?, ?)
            ON CONFLICT (singleton) DO UPDATE SET count = excluded.count, last_mac = excluded.last_mac, mac = excluded.mac
            """,
            .integer(head.count), .blob(head.lastMAC), .blob(head.mac))
    }

    package func setMAC(_ mac: [UInt8], seq: Int64) throws {
        try database.execute("UPDATE events SET mac = ? WHERE seq = ?", .blob(mac), .integer(seq))
    }
}
