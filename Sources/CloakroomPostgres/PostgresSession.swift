internal import CloakroomStore
internal import Logging
internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// One connection to the vault's PostgreSQL server, used synchronously: the store runs on a
/// thread of its own (never an event loop, never Swift's cooperative pool), so waiting for a
/// reply there blocks nobody else. postgres-nio does the wire protocol.
///
/// The stores' SQL is written with SQLite's `?` parameters; they are numbered `$1, $2, …` here
/// (once per statement text). Reads and writes get one round trip each beyond their queries: a
/// transaction's `BEGIN` is sent without waiting for its answer (the connection keeps order), and
/// a read's `COMMIT` likewise.
package final class PostgresSession: SQLConnection {
    /// The connection now: replaced when the server ended the last one (a restart, a failover,
    /// an administrator), at the start of the next transaction.
    let slot: ConnectionSlot
    var connection: PostgresConnection { slot.current }
    /// Whether the connection is open (the server may have ended it since the last query).
    var isConnected: Bool { !connection.isClosed }
    let location: PostgresLocation
    let reporting: @Sendable (StoreError) -> any Error
    private let environment: (String) -> String?
    private let logger: Logger
    private var translated: [(sql: String, numbered: String)] = []
    /// What must be done again on a new connection (`LISTEN`s).
    private var reconnected: [() -> Void] = []

    private init(_ connection: PostgresConnection, location: PostgresLocation, environment: @escaping (String) -> String?, logger: Logger,
                 reporting: @escaping @Sendable (StoreError) -> any Error) {
        slot = ConnectionSlot(connection)
        (self.location, self.environment, self.logger, self.reporting) = (location, environment, logger, reporting)
    }

    deinit {
        try? connection.close().wait()
    }

    /// Connects to the first of the URL's hosts that answers (and, with `target_session_attrs=
    /// read-write`, accepts writes), as libpq does.
    /// - Throws: `StoreError` `.unreachable` naming every host tried and why, `.denied`, `.invalidLocation`.
    static func connect(
        _ location: PostgresLocation, environment: @escaping (String) -> String?, reporting: @escaping @Sendable (StoreError) -> any Error
    ) throws -> PostgresSession {
        let logger = Logger(label: "cloakroom.postgres") { _ in SwiftLogNoOpLogHandler() }
        do {
            return PostgresSession(try open(location, environment: environment, logger: logger), location: location, environment: environment,
                                   logger: logger, reporting: reporting)
        } catch let error as StoreError {
            throw reporting(error)
        }
    }

    /// Runs `action` now and again on every new connection.
    func onEveryConnection(_ action: @escaping () -> Void) {
        reconnected.append(action)
    }

    /// Between transactions, a connection the server ended is replaced by a new one (of any of
    /// the URL's hosts): nothing was half-done on it, since a transaction the server cut short
    /// rolled back and its command failed. A token in a long-running process's memory is served
    /// meanwhile; what was announced while no connection listened is taken as changed.
    private func reconnectIfLost() throws {
        guard connection.isClosed, writeDepth == 0, !reading else { return }
        do {
            slot.replace(with: try Self.open(location, environment: environment, logger: logger))
        } catch let error as StoreError {
            throw reporting(error)
        }
        for action in reconnected { action() }
    }

    // MARK: Queries

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func rows<T>(_ sql: String, _ arguments: [SQLValue], read: (PostgresRowReader) throws -> T) throws -> [T] {
        try run(sql, arguments).rows.map { try read(PostgresRowReader(row: $0.makeRandomAccess())) }
    }

    func row<T>(_ sql: String, _ arguments: [SQLValue], read: (PostgresRowReader) throws -> T) throws -> T? {
        try run(sql, arguments).rows.first.map { try read(PostgresRowReader(row: $0.makeRandomAccess())) }
    }

    /// Runs a statement that takes no parameters (schema, session settings).
    func execute(script sql: String) throws {
        _ = try run(sql, [], numbering: false)
    }

    private func run(_ sql: String, _ arguments: [SQLValue], numbering: Bool = true) throws -> PostgresQueryResult {
        try reconnectIfLost()
        do {
            return try Self.waitBounded(send(sql, arguments, numbering: numbering), connection: connection)
        } catch {
            throw report(error)
        }
    }

    /// How long any one answer may take: the server's own timeouts (lock_timeout) come first;
    /// this is for a server (or network) that stops answering at all.
    static let answerTimeout: TimeAmount = .seconds(120)

    /// Waits for `future`, failing when the connection is closed already or no answer comes:
    /// postgres-nio never completes a query written to a closed channel, so a bare `wait()`
    /// after the server went away would wait forever.
    static func waitBounded<T: Sendable>(_ future: EventLoopFuture<T>, connection: PostgresConnection) throws -> T {
        guard !connection.isClosed else { throw ConnectionLost() }
        let bounded = future.eventLoop.makePromise(of: T.self)
        future.cascade(to: bounded)
        let timeout = future.eventLoop.scheduleTask(in: answerTimeout) { bounded.fail(ConnectionLost(timedOut: true)) }
        defer { timeout.cancel() }
        let watch = CloseWatch.of(connection)
        guard let id = watch.add({ bounded.fail(ConnectionLost()) }) else { throw ConnectionLost() }
        defer { watch.remove(id) }
        return try bounded.futureResult.wait()
    }

    /// Sends a statement without waiting for its answer: the connection answers in order, so a
    /// later statement's answer implies this one's.
    private func send(_ sql: String, _ arguments: [SQLValue], numbering: Bool = true) -> EventLoopFuture<PostgresQueryResult> {
        let connection = connection
        guard !connection.isClosed else { return connection.eventLoop.makeFailedFuture(ConnectionLost()) }
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument {
            case .null: bindings.appendNull()
            case .integer(let number): bindings.append(number)
            case .text(let text): bindings.append(text)
            case .blob(let bytes): bindings.append(ByteBuffer(bytes: bytes))
            }
        }
        return connection.query(PostgresQuery(unsafeSQL: numbering ? numbered(sql) : sql, binds: bindings), logger: logger)
    }

    /// `sql` with SQLite's `?` and `?N` parameters as PostgreSQL's `$N` (outside quotes and comments).
    private func numbered(_ sql: String) -> String {
        if let known = translated.first(where: { $0.sql == sql }) { return known.numbered }
        var result = ""
        var next = 1
        var quote: Character?
        var characters = sql.makeIterator()
        var pending = characters.next()
        while let character = pending {
            pending = characters.next()
            if let open = quote {
                result.append(character)
                if character == open { quote = nil }
                continue
            }
            switch character {
            case "'", "\"":
                quote = character
                result.append(character)
            case "?":
                var digits = ""
                while let digit = pending, digit.isASCII, digit.isNumber {
                    digits.append(digit)
                    pending = characters.next()
                }
                if digits.isEmpty {
                    digits = String(next)
                    next += 1
                }
                result += "$" + digits
            default:
                result.append(character)
            }
        }
        if translated.count < 128 { translated.append((sql, result)) }
        return result
    }

    // MARK: Transactions

    private var writeDepth = 0
    var isInWriteTransaction: Bool { writeDepth > 0 }
    /// The audit lock a one-client transaction takes before its first append (see `holdAuditLogForAppend`).
    private var auditLockToTake: Int64?

    /// Which of the vault's transaction-level advisory locks a write transaction holds. Taken in
    /// this order only — the write lock, a client's, the audit lock — so writers never deadlock.
    enum WriteLocks {
        /// The write lock, exclusively: no other writer runs meanwhile.
        case exclusive(write: Int64)
        /// The write lock shared with writers of other clients, these clients' locks (taken in
        /// ascending order of their keys), and, from the first audit append until the end, the
        /// audit lock (`VaultStore.write(durable:clients:_:)`).
        case clients(write: Int64, clients: [Int64], audit: Int64)
    }

    /// `body` in one transaction holding `locks` (waited for up to `lockWait`), which also
    /// announces the change to every other session of the vault (`NOTIFY`, delivered when it
    /// commits). Nested calls are savepoints, as in SQLite, and keep the outer call's locks.
    func writeTransaction<T>(durable: Bool, locks: WriteLocks, lockWait: Duration, _ body: () throws -> T) throws -> T {
        if writeDepth > 0 {
            writeDepth += 1
            defer { writeDepth -= 1 }
            return try savepoint(body)
        }
        try reconnectIfLost()
        let begin = send("BEGIN", [], numbering: false)
        do {
            // In one statement, in this order: the lock timeout, then the locks, then the notice.
            // (READ COMMITTED: each statement after the locks sees every commit made before them.)
            let settings: [SQLValue] = [.text("\(Self.milliseconds(lockWait))ms"), .text(durable ? "on" : "off")]
            let notice: SQLValue = .text(location.schema)
            switch locks {
            case .exclusive(let write):
                _ = try row(
                    """
                    SELECT set_config('lock_timeout', ?, true) AS a, set_config('synchronous_commit', ?, true) AS b,
                           pg_advisory_xact_lock(?) IS NULL AS c, pg_notify('cloakroom', ?) IS NULL AS d
                    """,
                    settings + [.integer(write), notice], read: { _ in () })
            case .clients(let write, let clients, let audit):
                let sorted = clients.sorted()
                _ = try row(
                    """
                    SELECT set_config('lock_timeout', ?, true) AS a, set_config('synchronous_commit', ?, true) AS b,
                           pg_advisory_xact_lock_shared(?) IS NULL AS c, \(sorted.indices.map { "pg_advisory_xact_lock(?) IS NULL AS k\($0)" }.joined(separator: ", ")),
                           pg_notify('cloakroom', ?) IS NULL AS e
                    """,
                    settings + [.integer(write)] + sorted.map(SQLValue.integer) + [notice], read: { _ in () })
                auditLockToTake = audit
            }
            _ = try Self.waitBounded(begin, connection: connection)
        } catch {
            auditLockToTake = nil
            _ = try? run("ROLLBACK", [], numbering: false)
            throw error
        }
        writeDepth = 1
        defer { (writeDepth, auditLockToTake) = (0, nil) }
        do {
            let result = try body()
            try execute(script: "COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK", [], numbering: false)
            throw error
        }
    }

    /// In a one-client transaction, takes the audit lock, once: held until the transaction ends,
    /// so the head it reads next is still the head when it commits. (In an exclusive one, the
    /// write lock already keeps every other writer out.)
    func holdAuditLogForAppend() throws {
        guard let key = auditLockToTake else { return }
        _ = try row("SELECT pg_advisory_xact_lock(?) IS NULL AS a", [.integer(key)], read: { _ in () })
        auditLockToTake = nil
    }

    /// `body` in one read-only snapshot (or in the write transaction already open).
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        guard writeDepth == 0, !reading else { return try body() }
        try reconnectIfLost()
        _ = send("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", [], numbering: false)
        reading = true
        defer {
            reading = false
            _ = send("COMMIT", [], numbering: false)
        }
        return try body()
    }

    private var reading = false

    static func milliseconds(_ duration: Duration) -> Int64 {
        max(1, duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000)
    }

}

/// Fails the waits in progress on a connection when it closes, through one callback per
/// connection. (A callback added to `closeFuture` for each wait, as before, is kept until the
/// connection closes — for months in an agent — and with it the promise and the rows it was
/// completed with: memory that grew with every query.)
final class CloseWatch: Sendable {
    private static let watches = Mutex<[ObjectIdentifier: CloseWatch]>([:])
    private let waiting = Mutex<(next: Int, fail: [Int: @Sendable () -> Void], closed: Bool)>((0, [:], false))

    /// The watch of `connection`, made (and its one callback added) on first use.
    static func of(_ connection: PostgresConnection) -> CloseWatch {
        let key = ObjectIdentifier(connection)
        let (watch, made) = watches.withLock { watches in
            if let watch = watches[key] { return (watch, false) }
            let watch = CloseWatch()
            watches[key] = watch
            return (watch, true)
        }
        if made {
            connection.closeFuture.whenComplete { _ in
                _ = watches.withLock { $0.removeValue(forKey: key) }
                watch.closed()
            }
        }
        return watch
    }

    /// Calls `fail` if the connection closes before `remove`; `nil` when it is closed already.
    func add(_ fail: @escaping @Sendable () -> Void) -> Int? {
        waiting.withLock { state in
            guard !state.closed else { return nil }
            state.next += 1
            state.fail[state.next] = fail
            return state.next
        }
    }

    func remove(_ id: Int) {
        _ = waiting.withLock { $0.fail.removeValue(forKey: id) }
    }

    private func closed() {
        let failing = waiting.withLock { state in
            state.closed = true
            defer { state.fail = [:] }
            return Array(state.fail.values)
        }
        for fail in failing { fail() }
    }
}
