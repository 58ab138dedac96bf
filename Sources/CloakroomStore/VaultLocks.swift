/// Locks shared by every process using one vault (and, on a server backend, every host): one
/// token fetch per request at a time, one rotation per client at a time. A holder that dies
/// releases what it held — with file locks the kernel does, with a database the server does —
/// so a `cloak` killed half-way never blocks the next one.
package protocol VaultLocks: Sendable {
    /// Makes what the locks need (SQLite: a 0700 directory beside the vault file). Nothing is
    /// needed for a vault that can only be read: no process can cache a token in it.
    /// - Throws: what the store reports for a failure (the domain's `VaultError`).
    func prepare() throws

    /// Waits, suspending rather than blocking, until lock `name` is this process's, or `deadline`
    /// passes (`nil`). On a vault that can only be read and has no such lock yet, the lock
    /// returned holds nothing: there is nobody to share it with.
    func acquire(_ name: String, until deadline: ContinuousClock.Instant) async throws -> VaultLock?

    /// Whether releasing a lock blocks its thread until a server answers through a NIO event
    /// loop (PostgreSQL's advisory locks: the release must be done before the caller says it is).
    /// Code that holds such a lock must not run on an event loop, whose release could then wait
    /// for the very loop it blocks.
    var releaseWaitsForAnEventLoop: Bool { get }
}

/// A lock this process holds, released when it goes out of scope (or is consumed). Not
/// copyable, so its release is where the code says, not wherever a reference count ends: a
/// class here could be freed by the optimiser right after its last use, lock and all.
package struct VaultLock: ~Copyable, Sendable {
    private let release: @Sendable () -> Void

    package init(release: @escaping @Sendable () -> Void) {
        self.release = release
    }

    deinit { release() }
}
