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

    private static func open(_ location: PostgresLocation, environment: (String) -> String?, logger: Logger) throws -> PostgresConnection {
        let passwords = PasswordFile.located(environment: environment)
        var failures: [String] = []
        for host in location.hosts {
            do {
                let password = try passwords?.password(host: host, database: location.database, user: location.user)
                let configuration = try Self.configuration(location, host: host, password: password, environment: environment)
                let connection = try PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
                ).wait()
                if location.readWrite {
                    let rows = try waitBounded(connection.query("SELECT current_setting('transaction_read_only') AS ro", logger: logger),
                                               connection: connection).rows
                    if try rows.first?.decode(String.self) == "on" {
                        failures.append("\(Self.describe(host)): read-only (a standby)")
                        try? connection.close().wait()
                        continue
                    }
                }
                return connection
            } catch let error as StoreError {
                throw error
            } catch {
                failures.append("\(Self.describe(host)): \(Self.reason(error, password: nil))")
            }
        }
        throw StoreError(kind: .unreachable, path: location.text, message: failures.joined(separator: "; "))
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

    private static func describe(_ host: PostgresLocation.Host) -> String {
        host.isUnixSocket ? "\(host.name)/.s.PGSQL.\(host.port)" : "\(host.name):\(host.port)"
    }

    private static func configuration(
        _ location: PostgresLocation, host: PostgresLocation.Host, password: String?, environment: (String) -> String?
    ) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if host.isUnixSocket {
            configuration = .init(unixSocketPath: host.name + "/.s.PGSQL.\(host.port)", username: location.user, password: password,
                                  database: location.database)
        } else {
            configuration = .init(host: host.name, port: host.port, username: location.user, password: password, database: location.database,
                                  tls: try tls(location, host: host, environment: environment))
        }
        configuration.options.connectTimeout = .milliseconds(location.connectTimeout.components.seconds * 1000
                                                              + location.connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        // Settings every session of a vault needs, in the start-up message (no round trip):
        // its schema; UTC; and TCP keepalives short enough that the server notices a dead host
        // within half a minute and releases what that host's session held (its advisory locks).
        configuration.options.additionalStartupParameters = [
            ("search_path", location.schema), ("application_name", "cloakroom"), ("TimeZone", "UTC"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ]
        return configuration
    }

    /// TLS as the URL's `sslmode` asks: verified against `sslrootcert` (else
    /// `~/.postgresql/root.crt` when present, as libpq, else the system's trust store).
    private static func tls(_ location: PostgresLocation, host: PostgresLocation.Host, environment: (String) -> String?) throws
        -> PostgresConnection.Configuration.TLS {
        guard location.sslMode != .disable else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        let defaultRoot = environment("HOME").map { $0 + "/.postgresql/root.crt" }
        if let root = location.rootCertificate {
            tls.trustRoots = .file(root)
        } else if let defaultRoot, access(defaultRoot, R_OK) == 0 {
            tls.trustRoots = .file(defaultRoot)
        }
        if let certificate = location.clientCertificate, let key = location.clientKey {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw StoreError(kind: .invalidLocation, path: location.text, message: "cannot read the client certificate \(certificate) or its key \(key): \(error)")
            }
        }
        do {
            return .require(try NIOSSLContext(configuration: tls))
        } catch {
            throw StoreError(kind: .invalidLocation, path: location.text,
                             message: "cannot use the TLS settings (sslrootcert \(location.rootCertificate ?? "default")): \(error)")
        }
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
        connection.closeFuture.whenComplete { _ in bounded.fail(ConnectionLost()) }
        defer { timeout.cancel() }
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

    /// `body` in one transaction holding the vault's write lock (a transaction-level advisory
    /// lock, waited for up to `lockWait`), which also announces the change to every other session
    /// of the vault (`NOTIFY`, delivered when it commits). Nested calls are savepoints, as in SQLite.
    func writeTransaction<T>(durable: Bool, lockKey: Int64, lockWait: Duration, _ body: () throws -> T) throws -> T {
        if writeDepth > 0 {
            writeDepth += 1
            defer { writeDepth -= 1 }
            return try savepoint(body)
        }
        try reconnectIfLost()
        let begin = send("BEGIN", [], numbering: false)
        do {
            // In one statement, in this order: the lock timeout, then the lock, then the notice.
            // (READ COMMITTED: each statement after the lock sees every commit made before it.)
            _ = try row(
                """
                SELECT set_config('lock_timeout', ?, true) AS a, set_config('synchronous_commit', ?, true) AS b,
                       pg_advisory_xact_lock(?) IS NULL AS c, pg_notify('cloakroom', ?) IS NULL AS d
                """,
                [.text("\(Self.milliseconds(lockWait))ms"), .text(durable ? "on" : "off"), .integer(lockKey), .text(location.schema)],
                read: { _ in () })
            _ = try Self.waitBounded(begin, connection: connection)
        } catch {
            _ = try? run("ROLLBACK", [], numbering: false)
            throw error
        }
        writeDepth = 1
        defer { writeDepth = 0 }
        do {
            let result = try body()
            try execute(script: "COMMIT")
            return result
        } catch {
            _ = try? run("ROLLBACK", [], numbering: false)
            throw error
        }
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

    // MARK: Errors

    /// What a failure means for the vault, sorted as SQLite's are (by SQLSTATE class).
    func report(_ error: any Error) -> any Error {
        if let error = error as? StoreError { return reporting(error) }
        return reporting(StoreError(kind: Self.kind(of: error), path: location.text, message: Self.reason(error, password: nil)))
    }

    static func kind(of error: any Error) -> StoreError.Kind {
        guard let error = error as? PSQLError else { return .unreachable }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            case "25006": return .readOnly  // read_only_sql_transaction: a standby
            case "53100": return .diskFull
            case "55P03", "40001", "40P01", "57014": return .busy  // lock timeout, serialization, deadlock, statement timeout
            case "42501": return .denied
            case "3D000", "28000", "28P01", "57P01", "57P02", "57P03": return .unreachable
            default: break
            }
            if state.hasPrefix("23") { return .constraint }
            if state.hasPrefix("08") || state.hasPrefix("57") { return .unreachable }
            if state.hasPrefix("53") || state.hasPrefix("58") { return .io }
            if state.hasPrefix("XX") { return .corrupted }
            return .other
        default:
            return .unreachable
        }
    }

    /// One line: the server's message and SQLSTATE, or what failed on the way to it.
    static func reason(_ error: any Error, password: String?) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        switch error.code {
        case .sslUnsupported: return "the server does not offer TLS (sslmode=disable only on loopback)"
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            if let underlying = error.underlying { return Self.reason(connecting: underlying) }
            return "the connection failed (\(error.code))"
        default:
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
    }
}

extension PostgresSession {
    /// What went wrong on the way to the server, in a few words: NIO's own descriptions name
    /// every address it tried and the error-set internals.
    static func reason(connecting error: any Error) -> String {
        if let failed = error as? NIOConnectionError {
            let reasons = failed.connectionErrors.map { reason(connecting: $0.error) }
            return reasons.isEmpty ? (failed.dnsAAAAError ?? failed.dnsAError).map { "cannot resolve the host name (\($0))" } ?? "cannot connect" : reasons[0]
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (is the server running, on this port?)"
            case ENOENT: return "no such socket (is the server running, with this socket directory?)"
            case ETIMEDOUT: return "timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: return String(cString: strerror(io.errnoCode))
            }
        }
        if let channel = error as? ChannelError, case .connectTimeout = channel { return "timed out connecting" }
        if let tls = error as? NIOSSLError { return "TLS failed: \(tls) (check sslrootcert and the server's certificate)" }
        return "\(error)"
    }
}

/// A session's connection, replaced when the server ends it: read by the locks from any thread.
final class ConnectionSlot: Sendable {
    private let state: Mutex<PostgresConnection>

    init(_ connection: PostgresConnection) {
        state = Mutex(connection)
    }

    var current: PostgresConnection { state.withLock { $0 } }

    func replace(with connection: PostgresConnection) {
        let old = state.withLock { state in
            defer { state = connection }
            return state
        }
        old.close().whenComplete { _ in }
    }
}

/// The session's connection closed, or stopped answering.
struct ConnectionLost: Error, CustomStringConvertible {
    var timedOut = false
    var description: String {
        timedOut ? "the server did not answer within \(PostgresSession.answerTimeout.nanoseconds / 1_000_000_000) s" : "the connection to the server was lost"
    }
}

/// A row of a PostgreSQL result, read by column name as the stores read SQLite's.
package struct PostgresRowReader: SQLRow {
    let row: PostgresRandomAccessRow

    private func cell(_ name: StaticString) -> PostgresCell { row[name.description] }

    func isNull(_ name: StaticString) -> Bool { cell(name).bytes == nil }

    func integer(_ name: StaticString) -> Int64 { optionalInteger(name) ?? 0 }

    func optionalInteger(_ name: StaticString) -> Int64? {
        let cell = cell(name)
        guard cell.bytes != nil else { return nil }
        do {
            if cell.dataType == .bool { return try cell.decode(Bool.self) ? 1 : 0 }
            return try cell.decode(Int64.self)
        } catch {
            preconditionFailure("column \(name) is \(cell.dataType), not an integer")
        }
    }

    func text(_ name: StaticString) -> String { optionalText(name) ?? "" }

    func optionalText(_ name: StaticString) -> String? {
        let cell = cell(name)
        guard cell.bytes != nil else { return nil }
        do { return try cell.decode(String.self) } catch { preconditionFailure("column \(name) is \(cell.dataType), not text") }
    }

    func blob(_ name: StaticString) -> [UInt8] { optionalBlob(name) ?? [] }

    func optionalBlob(_ name: StaticString) -> [UInt8]? {
        guard let bytes = cell(name).bytes else { return nil }
        return Array(bytes.readableBytesView)
    }
}
