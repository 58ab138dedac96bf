/// What the typed stores in this folder need of a connection: statements with `?` parameters,
/// rows read by column name. SQLite's `Database` is one; PostgreSQL's session (in
/// `CloakroomPostgres`) is the other, so both backends run the same SQL.
///
/// The SQL here is the common ground of the two dialects: `?` parameters (PostgreSQL's session
/// numbers them), `INSERT … RETURNING id`, integers for flags (`? = 1`, not a bare `?`, where a
/// condition is meant), `ON CONFLICT … DO UPDATE`, and `group_concat`, which the PostgreSQL schema
/// defines as SQLite has it. What only one backend can say (pragmas, locks, the schema itself)
/// stays in that backend.
package protocol SQLConnection: AnyObject, SendableMetatype {
    associatedtype Row: SQLRow

    /// Runs one statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    /// The rows of one query, each turned into a value by `read`.
    func rows<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> [T]
    /// The first row of one query, or `nil`.
    func row<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> T?
    /// See `AuditLogStore.holdForAppend()`: nothing to do where writers take turns anyway.
    func holdAuditLogForAppend() throws
    /// Runs one `INSERT` into a table with an integer `id`; returns the new row's id.
    func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64
}

extension SQLConnection {
    package func holdAuditLogForAppend() throws {}

    @discardableResult
    package func execute(_ sql: String, _ arguments: SQLValue...) throws -> Int {
        try execute(sql, arguments)
    }

    package func rows<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> [T] {
        try rows(sql, arguments, read: read)
    }

    package func row<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> T? {
        try row(sql, arguments, read: read)
    }

    /// The vault's 16-byte identity, or `nil` when its row is missing or damaged.
    package func vaultIdentity() throws -> [UInt8]? {
        try row("SELECT vault_id FROM vault", []) { $0.blob("vault_id") }.flatMap { $0.count == 16 ? $0 : nil }
    }

    package func createVaultIdentity(_ id: [UInt8], createdAt: Int64) throws {
        try execute("INSERT INTO vault (singleton, vault_id, created_at) VALUES (1, ?, ?)", .blob(id), .integer(createdAt))
    }

    /// `body` in a savepoint of the transaction already open: its changes commit or roll back
    /// with that transaction, and its failure undoes only its own part. One statement at a time
    /// (PostgreSQL's extended protocol takes no scripts: a `ROLLBACK TO …; RELEASE …` sent as one
    /// fails, and leaves the whole transaction aborted).
    package func savepoint<T>(_ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT nested", [])
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT nested", [])
            return result
        } catch {
            _ = try? execute("ROLLBACK TO SAVEPOINT nested", [])
            _ = try? execute("RELEASE SAVEPOINT nested", [])
            throw error
        }
    }

    /// By `INSERT … RETURNING id` (SQLite's `Database` asks for the last row id instead).
    package func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64 {
        try row(sql + " RETURNING id", arguments) { $0.integer("id") } ?? 0
    }

    package func insert(_ sql: String, _ arguments: SQLValue...) throws -> Int64 {
        try insert(sql, arguments)
    }
}

/// One result row, read by column name (the names a query gives with `AS`).
package protocol SQLRow: SendableMetatype {
    func isNull(_ name: StaticString) -> Bool
    /// An integer column; a boolean one (PostgreSQL's `EXISTS`, comparisons) reads as 1 or 0.
    func integer(_ name: StaticString) -> Int64
    func optionalInteger(_ name: StaticString) -> Int64?
    func text(_ name: StaticString) -> String
    func optionalText(_ name: StaticString) -> String?
    func blob(_ name: StaticString) -> [UInt8]
    func optionalBlob(_ name: StaticString) -> [UInt8]?
}
