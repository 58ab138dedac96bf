internal import CloakroomStore

/// `migrations/postgresql/` applied to a vault's schema: the same rules as SQLite's `Migrator`
/// (forward only, each migration in its own transaction, digests recorded, a newer schema
/// refused), with the vault's write lock held so that two `init`s cannot both apply one.
struct PostgresMigrator {
    let session: PostgresSession
    let lockKey: Int64

    static var latestVersion: Int { Migration.embeddedPostgreSQL.last?.version ?? 0 }

    static var shipped: [Migrator.Applied] {
        Migration.embeddedPostgreSQL.map { Migrator.Applied(version: $0.version, name: $0.name, checksum: $0.checksum) }
    }

    private var schema: String { session.location.schema }

    /// The table that records applied migrations, as `create` makes it (and `doctor` expects it).
    static func migrationsTable(_ name: String) -> String {
        """
        CREATE TABLE \(name) (
            version     bigint PRIMARY KEY,
            name        text NOT NULL,
            checksum    text NOT NULL,
            applied_at  bigint NOT NULL
        )
        """
    }

    /// Whether the schema holds a vault (its migrations table).
    func hasVault() throws -> Bool {
        try session.row("SELECT to_regclass(?) IS NOT NULL AS present", [.text(schema + ".schema_migrations")]) {
            $0.integer("present") != 0
        } ?? false
    }

    /// Whether this session's role owns the vault's schema: only the owner runs DDL.
    func ownsSchema() throws -> Bool {
        try session.row("SELECT pg_has_role(nspowner, 'USAGE') AS owns FROM pg_namespace WHERE nspname = ?", [.text(schema)]) {
            $0.integer("owns") != 0
        } ?? false
    }

    func currentVersion() throws -> Int {
        Int(try session.row("SELECT coalesce(max(version), 0) AS version FROM schema_migrations", []) { $0.integer("version") } ?? 0)
    }

    func applied() throws -> [Migrator.Applied] {
        try session.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version", []) {
            Migrator.Applied(version: Int($0.integer("version")), name: $0.text("name"), checksum: $0.text("checksum"))
        }
    }

    /// Makes the schema (when missing) and the vault's tables in it.
    /// - Throws: `StoreError` `.vaultExists` (reported) when the schema holds a vault already.
    func create(now: Int64) throws {
        try session.writeTransaction(durable: true, locks: .exclusive(write: lockKey), lockWait: .seconds(10)) {
            try session.execute(script: "CREATE SCHEMA IF NOT EXISTS \(schema)")
            guard try !hasVault() else {
                throw session.reporting(StoreError(kind: .vaultExists, path: session.location.text, message: "schema \(schema) holds a vault already"))
            }
            try session.execute(script: Self.migrationsTable("\(schema).schema_migrations"))
        }
        try migrate(now: now)
    }

    /// Applies the migrations the schema lacks, each in a transaction of its own.
    func migrate(now: Int64) throws {
        for migration in Migration.embeddedPostgreSQL {
            try session.writeTransaction(durable: true, locks: .exclusive(write: lockKey), lockWait: .seconds(10)) {
                // Another process may have applied it while this one waited for the lock.
                let current = try currentVersion()
                guard current < migration.version else { return }
                for statement in Self.statements(migration.sql) { try session.execute(script: statement) }
                try session.execute("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                                    .integer(Int64(migration.version)), .text(migration.name), .text(migration.checksum), .integer(now))
            }
        }
    }

    /// A migration file's statements: split at `;` outside quotes, comments and dollar-quoted
    /// bodies (the extended query protocol postgres-nio speaks takes one statement at a time).
    static func statements(_ sql: String) -> [String] {
        var statements: [String] = []
        var current = ""
        var characters = Array(sql)
        characters.append("\n")
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "-", index + 1 < characters.count, characters[index + 1] == "-" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
                continue
            }
            if character == "'" || character == "\"" {
                current.append(character)
                index += 1
                while index < characters.count {
                    current.append(characters[index])
                    index += 1
                    if characters[index - 1] == character { break }
                }
                continue
            }
            if character == "$", let close = characters[(index + 1)...].firstIndex(of: "$"),
               characters[(index + 1)..<close].allSatisfy({ $0.isLetter || $0 == "_" }) {
                let tag = characters[index...close]
                current += String(tag)
                index = close + 1
                while index < characters.count {
                    if characters[index...].starts(with: tag) {
                        current += String(tag)
                        index += tag.count
                        break
                    }
                    current.append(characters[index])
                    index += 1
                }
                continue
            }
            if character == ";" {
                if current.contains(where: { !$0.isWhitespace }) { statements.append(current) }
                current = ""
            } else {
                current.append(character)
            }
            index += 1
        }
        if current.contains(where: { !$0.isWhitespace }) { statements.append(current) }
        return statements
    }
}
