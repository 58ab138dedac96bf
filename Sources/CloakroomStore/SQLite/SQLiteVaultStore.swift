/// A vault in one SQLite file.
package final class SQLiteVaultStore: SQLVaultStore {
    /// The connection, for queries that have not moved into a typed store yet.
    package let database: Database
    package var stores: SQLStores<Database>

    package init(_ database: Database) {
        self.database = database
        stores = SQLStores(database)
    }

    /// Opens the vault file at `path`, checks that it is a vault, and applies the migrations this
    /// binary has and the vault lacks.
    ///
    /// - Parameter mode: `.readOnly` falls back to `.immutable` when the first read fails for
    ///   want of the WAL's `-shm` file, which only a writer can create (nobody is writing then).
    package static func open(
        path: String, mode: Database.Mode, busyTimeout: Duration, now: Int64,
        reporting: @escaping @Sendable (StoreError) -> any Error
    ) throws -> SQLiteVaultStore {
        let database: Database
        do {
            database = try connect(path, mode: mode, busyTimeout: busyTimeout)
        } catch let error as StoreError {
            throw reporting(error)
        }
        database.reporting = reporting
        try configure(database)
        guard try database.row("PRAGMA application_id", read: { $0.integer(0) }) == Migrator.applicationID else {
            throw database.report(StoreError(kind: .foreignDatabase, path: path, message: "application_id is not Cloakroom's"))
        }
        if database.isReadOnly {
            let version = try Migrator.currentVersion(database)
            guard version >= Migrator.latestVersion else {
                throw database.report(StoreError(kind: .readOnlyNeedsUpgrade(found: version, known: Migrator.latestVersion), path: path,
                                                 message: "read-only, schema \(version)"))
            }
        }
        try Migrator.migrate(database, now: now)
        return SQLiteVaultStore(database)
    }

    /// Makes the empty file at `path` (created by the caller, with the mode it wants) a vault
    /// without an identity yet: `createIdentity` comes next, in the caller's first transaction.
    package static func create(
        path: String, busyTimeout: Duration, now: Int64, reporting: @escaping @Sendable (StoreError) -> any Error
    ) throws -> SQLiteVaultStore {
        let database = try Database(path: path, mode: .readWrite, busyTimeout: busyTimeout, reporting: reporting)
        // application_id first, while the journal is still a rollback journal: it then lands in
        // the main file at once, so even a copy taken before the first checkpoint is recognisable.
        try database.execute(script: "PRAGMA application_id = \(Migrator.applicationID); PRAGMA journal_mode = WAL")
        try configure(database)
        try Migrator.migrate(database, now: now)
        return SQLiteVaultStore(database)
    }

    private static func connect(_ path: String, mode: Database.Mode, busyTimeout: Duration) throws -> Database {
        let database = try Database(path: path, mode: mode, busyTimeout: busyTimeout)
        guard mode == .readOnly else { return database }
        do {
            _ = try database.row("SELECT count(*) FROM sqlite_master") { $0.integer(0) }
            return database
        } catch let error as StoreError where error.kind == .readOnly || error.kind == .cannotOpen {
            return try Database(path: path, mode: .immutable, busyTimeout: busyTimeout)
        }
    }

    private static func configure(_ database: Database) throws {
        // secure_delete: removed rows (a deleted client's sealed secret) are overwritten, not left
        // in free pages. synchronous=FULL: a committed rotation step survives a power cut.
        // temp_store=MEMORY: a savepoint's journal or a sort that outgrows its in-memory start goes
        // to RAM, not to an unlinked file in /var/tmp holding copies of the vault's pages (a bulk
        // rotation made 65 of them).
        try database.execute(script: "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON; PRAGMA synchronous = FULL; PRAGMA temp_store = MEMORY")
    }

    package func identity() throws -> [UInt8] {
        guard let id = try database.vaultIdentity() else {
            throw database.report(StoreError(kind: .missingIdentity, path: location, message: "no vault_id"))
        }
        return id
    }

    package func createIdentity(_ id: [UInt8], createdAt: Int64) throws {
        try database.createVaultIdentity(id, createdAt: createdAt)
    }

    package var location: String { database.path }

    package var locks: any VaultLocks {
        SQLiteLocks(directory: database.path + ".locks", readOnlyVault: database.isReadOnly, seesOtherWriters: !database.isImmutable,
                    reporting: database.reporting)
    }
    package var isReadOnly: Bool { database.isReadOnly }
    package var isInWriteTransaction: Bool { database.isInWriteTransaction }

    /// SQLite's write lock is the file's: `BEGIN IMMEDIATE` takes it up front (see
    /// `Database.writeTransaction`), so two processes never both read and then both fail to upgrade.
    package func changesByOthers() throws -> Int64 {
        try database.row("PRAGMA data_version") { $0.integer(0) } ?? 0
    }

    package func write<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        try database.writeTransaction(durable: durable, body)
    }

    package func read<T>(_ body: () throws -> T) throws -> T {
        try database.readTransactionUnlessWriting(body)
    }

    package func examine() throws -> StoreExamination {
        let integrity = try database.rows("PRAGMA integrity_check") { $0.text(0) }
        let applied = try Migrator.applied(in: database)
        let shipped = Migration.embedded.map { Migrator.Applied(version: $0.version, name: $0.name, checksum: $0.checksum) }
        var differences: Result<[Migrator.SchemaDifference], StoreError>?
        if applied == shipped {
            do {
                differences = .success(try Migrator.schemaDifferences(in: database))
            } catch {
                differences = .failure(error as? StoreError ?? StoreError(kind: .other, path: location, message: "\(error)"))
            }
        }
        return StoreExamination(
            integrityCheck: "SQLite integrity check", integrityProblems: integrity == ["ok"] ? [] : integrity,
            danglingReferences: try database.rows("PRAGMA foreign_key_check") { $0.text(0) },
            applied: applied, shipped: shipped, schemaDifferences: differences, latestVersion: Migrator.latestVersion)
    }

    package func waitingForWriteLock<T>(upTo wait: Duration, _ body: () throws -> T) rethrows -> T {
        try database.withBusyTimeout(wait, body)
    }

    package var writeLockWait: Duration { database.busyTimeout }

    package func beginBulkWrites() { database.defersCheckpoints = true }

    package func endBulkWrites() {
        database.defersCheckpoints = false
        database.checkpoint()
    }
}
