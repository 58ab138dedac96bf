package import CloakroomStore
internal import PostgresNIO
internal import Synchronization

/// A vault in a schema of a PostgreSQL database: the same tables and the same queries as an
/// SQLite vault (`CloakroomStore/SQL`), with the server keeping what SQLite keeps in files —
/// the write lock (a transaction-level advisory lock), the per-key locks (session-level advisory
/// locks, released by the server when a session dies) and the news that another session changed
/// something (`NOTIFY cloakroom`, sent by every write when it commits).
package final class PostgresVaultStore: SQLVaultStore {
    let session: PostgresSession
    package var stores: SQLStores<PostgresSession>
    private let changes: ChangeCounter
    private var lockWait: Duration
    package let writeLockWait: Duration

    private init(_ session: PostgresSession, lockWait: Duration) {
        self.session = session
        self.lockWait = lockWait
        writeLockWait = lockWait
        changes = ChangeCounter(session: session)
        locks = PostgresLocks(slot: session.slot, schema: session.location.schema)
        // A copy's explicit ids pass the identity sequences by: the next generated id must follow them.
        stores = SQLStores(session) { table in
            ["SELECT setval(pg_get_serial_sequence('\(table)', 'id'), (SELECT coalesce(max(id), 0) + 1 FROM \(table)), false)"]
        }
    }

    /// Connects to the vault at `url`. A role that owns the vault's schema brings it up to date
    /// (each migration in its own transaction); any other role only uses it, and is refused when
    /// the schema is older than this binary.
    /// - Throws: what `reporting` makes of a `StoreError`: `.invalidLocation`, `.unreachable`,
    ///   `.noVault`, `.newerSchema`, `.needsUpgrade`, `.denied`.
    package static func open(
        url: String, busyTimeout: Duration, now: Int64, environment: @escaping (String) -> String?,
        reporting: @escaping @Sendable (StoreError) -> any Error
    ) throws -> PostgresVaultStore {
        let store = try connect(url, busyTimeout: busyTimeout, environment: environment, reporting: reporting)
        let (session, location) = (store.session, store.session.location)
        let migrator = PostgresMigrator(session: session, lockKey: store.writeLockKey)
        guard try migrator.hasVault() else {
            throw reporting(StoreError(kind: .noVault, path: location.text, message: "schema \(location.schema) of database \(location.database) holds none"))
        }
        let version = try migrator.currentVersion()
        let latest = PostgresMigrator.latestVersion
        if version > latest {
            throw reporting(StoreError(kind: .newerSchema(found: version, known: latest), path: location.text, message: "schema version \(version)"))
        }
        if version < latest {
            guard try migrator.ownsSchema() else {
                throw reporting(StoreError(kind: .needsUpgrade(found: version, known: latest), path: location.text, message: "schema version \(version)"))
            }
            try migrator.migrate(now: now)
        }
        return store
    }

    /// Makes a new vault in the URL's schema (creating the schema when missing), and gives it to
    /// `initialise` (identity, first keyslot) in the same transaction: the caller's role becomes
    /// the owner of its tables.
    /// - Throws: `StoreError` `.vaultExists` (reported) when the schema holds a vault.
    package static func create<T>(
        url: String, busyTimeout: Duration, now: Int64, environment: @escaping (String) -> String?,
        reporting: @escaping @Sendable (StoreError) -> any Error, initialise: (PostgresVaultStore) throws -> T
    ) throws -> T {
        let store = try connect(url, busyTimeout: busyTimeout, environment: environment, reporting: reporting)
        // One transaction (the migrator's own are savepoints in it): whatever fails, `initialise`
        // included, nothing is left, not even the schema.
        return try store.write(durable: true) {
            try PostgresMigrator(session: store.session, lockKey: store.writeLockKey).create(now: now)
            return try initialise(store)
        }
    }

    private static func connect(
        _ url: String, busyTimeout: Duration, environment: @escaping (String) -> String?, reporting: @escaping @Sendable (StoreError) -> any Error
    ) throws -> PostgresVaultStore {
        var location: PostgresLocation
        do { location = try PostgresLocation(url, environment: environment) } catch let error as StoreError { throw reporting(error) }
        location.lockTimeout = busyTimeout
        return PostgresVaultStore(try PostgresSession.connect(location, environment: environment, reporting: reporting), lockWait: busyTimeout)
    }

    /// Whether the vault at `url` exists (for `create`, to refuse a second one before any key is made).
    package func hasIdentity() throws -> Bool {
        try session.vaultIdentity() != nil
    }

    /// The statements that give `role` what a runtime role needs (rows, not the schema): reading
    /// and writing the vault's tables, nothing else. A role with these cannot change the schema,
    /// and without a keyslot's key file or passphrase it reads names and URLs, never a secret.
    package static func runtimeGrants(schema: String, role: String) -> [String] {
        let role = "\"" + role.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
        return [
            "GRANT USAGE ON SCHEMA \(schema) TO \(role);",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA \(schema) TO \(role);",
            "GRANT USAGE ON ALL SEQUENCES IN SCHEMA \(schema) TO \(role);",
        ]
    }

    /// `runtimeGrants` for this vault's schema.
    package func runtimeGrants(role: String) -> [String] {
        Self.runtimeGrants(schema: session.location.schema, role: role)
    }

    var writeLockKey: Int64 { PostgresLocks.key(schema: session.location.schema, name: "write") }

    // MARK: VaultStore

    package var location: String { session.location.text }
    package var isReadOnly: Bool { false }
    package var isInWriteTransaction: Bool { session.isInWriteTransaction }

    package func write<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        try session.writeTransaction(durable: durable, locks: .exclusive(write: writeLockKey), lockWait: lockWait, body)
    }

    /// Writes of different clients run at once (each holds the write lock shared, its clients'
    /// locks, and the audit lock only from its first append to its commit): several hosts
    /// rotating a team vault's clients wait for one another only there.
    package func write<T>(durable: Bool, clients clientRowIDs: [Int64], _ body: () throws -> T) throws -> T {
        let key = { (name: String) in PostgresLocks.key(schema: self.session.location.schema, name: name) }
        let locks = PostgresSession.WriteLocks.clients(write: writeLockKey, clients: Set(clientRowIDs).map { key("client \($0)") }, audit: key("audit"))
        return try session.writeTransaction(durable: durable, locks: locks, lockWait: lockWait, body)
    }

    package func read<T>(_ body: () throws -> T) throws -> T {
        try session.readTransaction(body)
    }

    package func waitingForWriteLock<T>(upTo wait: Duration, _ body: () throws -> T) rethrows -> T {
        let usual = lockWait
        lockWait = wait
        defer { lockWait = usual }
        return try body()
    }

    // Nothing to defer: the server checkpoints on its own.
    package func beginBulkWrites() {}
    package func endBulkWrites() {}

    package func identity() throws -> [UInt8] {
        guard let id = try session.vaultIdentity() else {
            throw session.reporting(StoreError(kind: .missingIdentity, path: location, message: "no vault_id"))
        }
        return id
    }

    package func createIdentity(_ id: [UInt8], createdAt: Int64) throws {
        try session.createVaultIdentity(id, createdAt: createdAt)
    }

    package func changesByOthers() throws -> Int64 {
        try changes.count()
    }

    package func examine() throws -> StoreExamination {
        let migrator = PostgresMigrator(session: session, lockKey: writeLockKey)
        // The server enforces every foreign key, so no row can dangle; and its own storage checks
        // (amcheck) need a superuser. The schema's objects are compared with the shipped ones when
        // the migrations are the shipped ones and this role may make the scratch schema that needs
        // (the owner); otherwise only the migrations are.
        let applied = try migrator.applied()
        var differences: Result<[Migrator.SchemaDifference], StoreError>?
        if applied == PostgresMigrator.shipped { differences = try migrator.schemaDifferences().map { .success($0) } }
        return StoreExamination(
            integrityCheck: nil, integrityProblems: [], danglingReferences: [], applied: applied, shipped: PostgresMigrator.shipped,
            schemaDifferences: differences, latestVersion: PostgresMigrator.latestVersion)
    }

    package let locks: any VaultLocks
}

/// Counts the commits other sessions announce on this vault (`NOTIFY cloakroom, 'SCHEMA'`):
/// what `changesByOthers` reports. Listening starts at the first count, so a command that never
/// asks never sends `LISTEN`.
private final class ChangeCounter {
    private let session: PostgresSession
    private let seen = Seen()
    private var listening = false

    init(session: PostgresSession) {
        self.session = session
    }

    func count() throws -> Int64 {
        if !listening {
            try listen()
            listening = true
            session.onEveryConnection { [weak self] in
                guard let self else { return }
                // What was announced while nobody listened is unknown: take it as a change.
                seen.count.add(1, ordering: .relaxed)
                try? listen()
            }
        }
        return seen.count.load(ordering: .relaxed)
    }

    private func listen() throws {
        let pid = try session.row("SELECT pg_backend_pid() AS pid", [], read: { $0.integer("pid") }) ?? 0
        let schema = session.location.schema
        seen.ownPID.store(Int32(truncatingIfNeeded: pid), ordering: .relaxed)
        session.connection.addListener(channel: "cloakroom") { [seen] _, notification in
            if notification.payload == schema && notification.backendPID != seen.ownPID.load(ordering: .relaxed) {
                seen.count.add(1, ordering: .relaxed)
            }
        }
        try session.execute(script: "LISTEN cloakroom")
    }

    /// What the event loop's listener writes and the store's thread reads.
    private final class Seen: Sendable {
        let count = Atomic<Int64>(0)
        let ownPID = Atomic<Int32>(0)
    }
}
