internal import CloakroomCrypto
internal import CloakroomStore
internal import Logging
internal import NIOCore
internal import PostgresNIO
internal import Synchronization

/// A PostgreSQL vault's per-key locks (one token fetch per request, one rotation per client),
/// shared by every session on every host: session-level advisory locks, keyed by a digest of the
/// vault's schema and the lock's name. The server releases a session's locks when it ends — also
/// when its host dies, once TCP keepalives (set short by the session) give up on it.
///
/// A waiter is woken by `NOTIFY cloakroom_locks, 'KEY'`, which every release sends, rather than
/// by polling; it still tries again once a second, for the one release that sends nothing (the
/// server's, of a dead session). Within this process, a set of held keys makes the lock exclusive
/// too: advisory locks are re-entrant within one session, and every task of the process shares
/// the store's session.
final class PostgresLocks: VaultLocks {
    private let slot: ConnectionSlot
    private var connection: PostgresConnection { slot.current }
    private let schema: String
    private let logger = Logger(label: "cloakroom.postgres.locks") { _ in SwiftLogNoOpLogHandler() }
    private let state = Mutex(State())

    private struct State {
        var held: Set<Int64> = []
        /// Releases seen per key: a waiter that saw a number before trying, and sees another
        /// after failing, tries again at once.
        var releases: [Int64: Int] = [:]
        var waiters: [Int64: [(ticket: Int, continuation: CheckedContinuation<Void, Never>)]] = [:]
        var nextTicket = 0
        /// The connection whose `LISTEN` is on: a new one (the server ended the last) needs its own.
        var listeningOn: ObjectIdentifier?
    }

    init(slot: ConnectionSlot, schema: String) {
        self.slot = slot
        self.schema = schema
    }

    /// The advisory lock key of lock `name` of the vault in `schema`: the first 8 bytes of a
    /// BLAKE2b digest (vaults sharing a database never share a key).
    static func key(schema: String, name: String) -> Int64 {
        let digest = Sodium.digest(Array(("cloakroom lock\0" + schema + "\0" + name).utf8), length: 16)
        return digest.prefix(8).reduce(0) { $0 << 8 | Int64($1) }
    }

    /// `release` waits for the server's answer to its unlock.
    var releaseWaitsForAnEventLoop: Bool { true }

    func prepare() throws {}

    func acquire(_ name: String, until deadline: ContinuousClock.Instant) async throws -> VaultLock? {
        let key = Self.key(schema: schema, name: name)
        try await listen()
        while true {
            let seen = state.withLock { $0.releases[key, default: 0] }
            if try await tryLock(key) {
                return VaultLock { [self] in release(key) }
            }
            let now = ContinuousClock.now
            guard now < deadline else { return nil }
            await waitForRelease(of: key, after: seen, upTo: min(.seconds(1), deadline - now))
        }
    }

    private func tryLock(_ key: Int64) async throws -> Bool {
        // A query written to a closed connection is never answered (see `waitBounded`).
        guard !connection.isClosed else { throw ConnectionLost() }
        guard state.withLock({ $0.held.insert(key).inserted }) else { return false }
        var locked = false
        defer { if !locked { state.withLock { _ = $0.held.remove(key) } } }
        let result = try await connection.query("SELECT pg_try_advisory_lock(\(key)) AS locked", logger: logger)
        for try await (value) in result.decode(Bool.self) { locked = value }
        return locked
    }

    /// Unlocks, and tells every waiter (here and in other sessions). Waits for the server's
    /// answer: the caller may exit next, and the lock must be free before it says it is done.
    private func release(_ key: Int64) {
        var bindings = PostgresBindings(capacity: 2)
        bindings.append(key)
        bindings.append(String(key))
        let query = PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock($1) AS a, pg_notify('cloakroom_locks', $2) IS NULL AS b", binds: bindings)
        let connection = connection
        if !connection.isClosed {  // else the server released it with the session
            _ = try? PostgresSession.waitBounded(connection.query(query, logger: logger), connection: connection)
        }
        state.withLock { _ = $0.held.remove(key) }
        released(key)
    }

    private func released(_ key: Int64) {
        let woken = state.withLock { state in
            state.releases[key, default: 0] += 1
            return state.waiters.removeValue(forKey: key) ?? []
        }
        for waiter in woken { waiter.continuation.resume() }
    }

    private func waitForRelease(of key: Int64, after seen: Int, upTo wait: Duration) async {
        let ticket = state.withLock { state -> Int in
            state.nextTicket += 1
            return state.nextTicket
        }
        let timeout = Task { [self] in
            try? await Task.sleep(for: wait)
            resume(ticket, of: key)
        }
        await withCheckedContinuation { continuation in
            let now = state.withLock { state -> Bool in
                if state.releases[key, default: 0] != seen { return true }
                state.waiters[key, default: []].append((ticket, continuation))
                return false
            }
            if now { continuation.resume() }
        }
        timeout.cancel()
    }

    private func resume(_ ticket: Int, of key: Int64) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let index = state.waiters[key]?.firstIndex(where: { $0.ticket == ticket }) else { return nil }
            return state.waiters[key]?.remove(at: index).continuation
        }
        waiter?.resume()
    }

    /// `LISTEN cloakroom_locks`, once per connection: releases by other sessions (and hosts)
    /// wake waiters here. (Locks held on a connection the server ended were released with it.)
    private func listen() async throws {
        let connection = connection
        guard !connection.isClosed else { throw ConnectionLost() }
        let identity = ObjectIdentifier(connection)
        guard state.withLock({ state in
            defer { state.listeningOn = identity }
            return state.listeningOn != identity
        }) else { return }
        connection.addListener(channel: "cloakroom_locks") { [self] _, notification in
            if let key = Int64(notification.payload) { released(key) }
        }
        _ = try await connection.query("LISTEN cloakroom_locks", logger: logger)
    }
}
