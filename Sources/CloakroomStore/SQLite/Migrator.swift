import CloakroomCrypto

/// One numbered SQL file from `migrations/`, compiled into the binary by the EmbedMigrations plugin.
package struct Migration: Sendable {
    package let version: Int
    package let name: String
    package let sql: String

    package init(version: Int, name: String, sql: String) {
        (self.version, self.name, self.sql) = (version, name, sql)
    }

    /// BLAKE2b of the file's bytes. Recorded when applied, so an edited shipped migration shows.
    package var checksum: String { Sodium.digest(Array(sql.utf8)).hex }
}

/// Applies `migrations/` to a vault: in order, each in its own transaction, recording what ran.
///
/// Migrations are forward-only history (as GRDB's migrator teaches): a shipped file is never
/// edited, and a vault whose schema is newer than this binary is refused rather than guessed at.
package enum Migrator {
    /// `PRAGMA application_id` of every vault: "Clkr". It tells a vault from any other SQLite file
    /// without reading a single table.
    package static let applicationID: Int64 = 0x436C_6B72

    package static var latestVersion: Int { Migration.embedded.last?.version ?? 0 }

    package struct Applied: Equatable {
        package var version: Int
        package var name: String
        package var checksum: String

        package init(version: Int, name: String, checksum: String) {
            self.version = version
            self.name = name
            self.checksum = checksum
        }
    }

    package static func applied(in database: Database) throws -> [Applied] {
        try database.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
            Applied(version: Int($0.integer(0)), name: $0.text(1), checksum: $0.text(2))
        }
    }

    /// Brings `database` up to `latestVersion`.
    /// - Throws: `StoreError` `.newerSchema` when the vault is ahead of this binary.
    package static func migrate(_ database: Database, now: Int64) throws {
        // Checked first: even a no-op CREATE would need a write lock on a vault that may be read-only to us.
        let hasTable = try database.row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'") { _ in true } ?? false
        if !hasTable {
            try database.execute(script: """
            CREATE TABLE schema_migrations (
                version     INTEGER PRIMARY KEY,
                name        TEXT NOT NULL,
                checksum    TEXT NOT NULL,
                applied_at  INTEGER NOT NULL
            ) STRICT
            """)
        }
        let current = try currentVersion(database)
        guard current <= latestVersion else {
            throw database.report(StoreError(kind: .newerSchema(found: current, known: latestVersion), path: database.path,
                                             message: "schema version \(current) is newer than \(latestVersion)"))
        }
        for migration in Migration.embedded where migration.version > current {
            try database.writeTransaction {
                // Another process may have applied it while we waited for the write lock.
                guard try currentVersion(database) < migration.version else { return }
                try database.execute(script: migration.sql)
                try database.execute(
                    "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)",
                    .integer(Int64(migration.version)), .text(migration.name), .text(migration.checksum), .integer(now))
            }
        }
    }

    package static func currentVersion(_ database: Database) throws -> Int {
        Int(try database.row("SELECT coalesce(max(version), 0) FROM schema_migrations") { $0.integer(0) } ?? 0)
    }
}
