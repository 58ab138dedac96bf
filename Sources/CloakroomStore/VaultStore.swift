/// Where a vault's rows live: what a storage backend implements for the domain (`Cloakroom`)
/// to keep a vault in it. SQLite is the one today; PostgreSQL is next.
///
/// The contract, beyond each aggregate's own protocol:
/// - `write` runs its body under the vault's *write lock*, as one atomic transaction: every
///   change the body makes is kept, or none. Called inside another `write`, the body is a nested
///   part of it (a savepoint): it commits or rolls back with the outer one, and its own failure
///   undoes only its own part.
/// - `write(durable:clients:_:)` is a `write` that changes only some clients' rows (each one's
///   row, secret versions, rotation journal, cached tokens) and appends to the audit log. A store
///   may run such writes for different clients at once (PostgreSQL does: the hot path of many hosts rotating),
///   so the body may change nothing else; before it reads the audit log's head to append, the
///   domain calls `auditLog.holdForAppend()`, which keeps the log one chain.
/// - `read` gives the body one consistent snapshot (inside a `write`, that transaction's).
/// - Sealing happens above the store: a store holds sealed values and the row identities they
///   are bound to, never a key or an opened secret.
/// - Failures are thrown as the store was told to report them (see `Database.init`), so the
///   domain sees one error type whichever backend it runs on.
///
/// Stores are not thread-safe: one owner at a time (the broker keeps its store on a thread of
/// its own, off Swift's cooperative pool).
package protocol VaultStore: AnyObject {
    /// Where the vault is, for messages: a file path or a connection string without credentials.
    var location: String { get }
    /// Whether this connection can only read.
    var isReadOnly: Bool { get }
    /// Whether a `write` is open (its body is running).
    var isInWriteTransaction: Bool { get }

    func write<T>(durable: Bool, _ body: () throws -> T) throws -> T
    /// `write`, for a change to the rows of the clients in rows `clientRowIDs` only (and the
    /// audit log): see the contract above. A store with one writer at a time needs nothing more.
    func write<T>(durable: Bool, clients clientRowIDs: [Int64], _ body: () throws -> T) throws -> T
    func read<T>(_ body: () throws -> T) throws -> T
    /// Runs `body` with writes waiting up to `wait` for another writer's lock (instead of the
    /// store's usual wait): shorter for a best-effort event after a failure, longer for a token
    /// that was fetched and must not be lost.
    func waitingForWriteLock<T>(upTo wait: Duration, _ body: () throws -> T) rethrows -> T
    /// How long writes wait for another writer's lock, usually.
    var writeLockWait: Duration { get }
    /// Between `beginBulkWrites` and `endBulkWrites` many small transactions follow each other
    /// (a bulk rotation): each stays durable, and housekeeping the store would do after each
    /// (SQLite's WAL checkpoint) is done once at the end.
    func beginBulkWrites()
    func endBulkWrites()

    /// The vault's 16 random bytes, bound into every sealed value so that nothing moves between vaults.
    func identity() throws -> [UInt8]
    /// Records the identity of a new vault, once.
    func createIdentity(_ id: [UInt8], createdAt: Int64) throws

    /// A number that changes whenever another connection (another process) commits a change:
    /// a long-running owner polls it to notice what `cloak` commands did (SQLite's `data_version`;
    /// a server backend would count its notifications). Its value means nothing, only its changes.
    func changesByOthers() throws -> Int64

    /// What the store finds wrong with itself, beneath anything the domain checks: for `doctor`.
    func examine() throws -> StoreExamination

    /// The locks every process using this vault shares (the token single flight, one rotation
    /// per client): part of the store, since a server backend keeps them in the server.
    var locks: any VaultLocks { get }

    var keyslots: any KeyslotStore { get }
    var realms: any RealmStore { get }
    var clients: any ClientStore { get }
    var rotations: any RotationJournalStore { get }
    var auditLog: any AuditLogStore { get }
    /// (Settable: tests wrap it to count what the broker reads.)
    var tokenCache: any TokenCacheStore { get set }
    var clientTags: any ClientTagStore { get }
    var agentConsumers: any AgentConsumerStore { get }
    /// Every row at once (`cloak vault copy`).
    var wholeVault: any WholeVaultStore { get }
}

extension VaultStore {
    /// A durable write: committed to disk before it returns.
    package func write<T>(_ body: () throws -> T) throws -> T { try write(durable: true, body) }

    package func write<T>(durable: Bool, clients clientRowIDs: [Int64], _ body: () throws -> T) throws -> T {
        try write(durable: durable, body)
    }
}

/// What a store found when it examined itself.
package struct StoreExamination: Sendable {
    /// The storage's own integrity check ("SQLite integrity check"), if the store can run one.
    package var integrityCheck: String?
    /// What that check reported; empty when it passed.
    package var integrityProblems: [String]
    /// For each row that refers to a row that no longer exists: its table.
    package var danglingReferences: [String]
    /// The migrations the vault records as applied, oldest first.
    package var applied: [Migrator.Applied]
    /// The migrations this binary ships, oldest first.
    package var shipped: [Migrator.Applied]
    /// How the schema differs from what the shipped migrations make, when the applied
    /// migrations are the shipped ones (or why they could not be compared).
    package var schemaDifferences: Result<[Migrator.SchemaDifference], StoreError>?
    /// The newest migration this binary ships.
    package var latestVersion: Int

    package init(integrityCheck: String?, integrityProblems: [String], danglingReferences: [String], applied: [Migrator.Applied], shipped: [Migrator.Applied],
                 schemaDifferences: Result<[Migrator.SchemaDifference], StoreError>?, latestVersion: Int) {
        (self.integrityCheck, self.integrityProblems, self.danglingReferences) = (integrityCheck, integrityProblems, danglingReferences)
        (self.applied, self.shipped) = (applied, shipped)
        (self.schemaDifferences, self.latestVersion) = (schemaDifferences, latestVersion)
    }
}
