internal import CSQLite

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A value bound to, or read from, an SQL statement.
package enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

/// A thin wrapper over one SQLite connection: prepared statements (cached, by their SQL),
/// bound parameters, rows read by column name, transactions, and SQLite's result codes sorted
/// into `StoreError`s by what a user must do about them.
///
/// Deliberately small: the vault needs a few dozen queries, and a cached token must cost one
/// indexed read with nothing else loaded (see the README on why not GRDB).
///
/// Not thread-safe (opened with `SQLITE_OPEN_NOMUTEX`): one owner at a time.
package final class Database: SQLConnection {
    let handle: OpaquePointer
    package let path: String
    /// How long a writer waits for another process's write lock, unless `withBusyTimeout` says otherwise.
    package let busyTimeout: Duration
    /// The busy timeout in force: `busyTimeout`, or what `withBusyTimeout` set.
    private var activeBusyTimeout: Duration
    /// Opened `immutable`: it sees none of another process's commits after it opened.
    package let isImmutable: Bool
    /// Statements prepared once and reused, by their SQL: preparing costs more than most of the
    /// vault's queries do to run. A list searched in order, not a dictionary: in the static
    /// `cloak`, the first `[String: Statement]` made the runtime look up `String: Hashable` among
    /// every conformance record (callgrind: 0.44 M of a cached token's 3.2 M instructions), and
    /// a process asks a handful of queries, most of them the same literal (equal at once).
    private var prepared: [(sql: String, statement: Statement)] = []
    /// What the owner makes of a failure: the domain turns `StoreError`s into its own error type,
    /// so every query it runs throws what its callers already handle.
    /// (Settable: `SQLiteVaultStore.open` probes a connection with raw `StoreError`s first.)
    package var reporting: @Sendable (StoreError) -> any Error

    package enum Mode: Sendable {
        case readWrite, create
        /// Reads only, with SQLite's locks: for a vault in a directory this process cannot write.
        case readOnly
        /// Reads only, without locks or a `-shm` file (`immutable=1`): for a read-only file
        /// system, where nobody can be writing and WAL's shared memory cannot be created.
        case immutable
    }

    /// - Parameters:
    ///   - busyTimeout: how long a writer waits for another process's write lock.
    ///   - reporting: turns a failure into the error to throw (by default, the `StoreError` itself).
    package init(path: String, mode: Mode, busyTimeout: Duration, reporting: @escaping @Sendable (StoreError) -> any Error = { $0 }) throws {
        var handle: OpaquePointer?
        var flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        var name = path
        switch mode {
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .immutable:
            flags |= SQLITE_OPEN_READONLY | SQLITE_OPEN_URI
            name = "file:" + Self.uriEscaped(path) + "?immutable=1"
        }
        let status = sqlite3_open_v2(name, &handle, flags, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(handle)
            throw reporting(StoreError(status: status, message: message, path: path, systemErrno: 0))
        }
        self.reporting = reporting
        self.handle = handle
        self.path = path
        self.busyTimeout = busyTimeout
        activeBusyTimeout = busyTimeout
        isImmutable = mode == .immutable
        sqlite3_busy_timeout(handle, Self.milliseconds(busyTimeout))
        sqlite3_extended_result_codes(handle, 1)
        cloak_sqlite3_checkpoint_on_close(handle, 0)
    }

    deinit {
        prepared.removeAll()  // finalised before the connection closes
        sqlite3_close_v2(handle)
    }

    /// Whether this connection can only read (`readOnly` or `immutable`).
    package var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

    /// A path as the path part of an SQLite `file:` URI: `%`, `?` and `#` (and anything outside
    /// printable ASCII) percent-encoded.
    private static func uriEscaped(_ path: String) -> String {
        var result = ""
        for byte in path.utf8 {
            if byte > 0x20 && byte < 0x7F && byte != UInt8(ascii: "%") && byte != UInt8(ascii: "?") && byte != UInt8(ascii: "#") {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "%" + String(byte >> 4, radix: 16) + String(byte & 0xF, radix: 16)
            }
        }
        return result
    }

    /// Runs one or more statements that take no parameters (schema, pragmas).
    package func execute(script sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw error(status, message: text)
        }
    }

    @discardableResult
    package func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try withStatement(sql, arguments) { statement in
            while try statement.step() {}
        }
        return Int(sqlite3_changes(handle))
    }

    /// The row id SQLite gave the row, not `RETURNING id`: SQLite runs a `RETURNING` statement
    /// to its end into a temporary b-tree (a pager and page cache made and freed each time), which
    /// made the rotation journal's insert 5 % of a bulk rotation's CPU.
    package func insert(_ sql: String, _ arguments: [SQLValue]) throws -> Int64 {
        try execute(sql, arguments)
        return sqlite3_last_insert_rowid(handle)
    }

    package func rows<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> [T] {
        try withStatement(sql, arguments) { statement in
            var result: [T] = []
            while try statement.step() { result.append(try read(Row(statement: statement))) }
            return result
        }
    }

    package func row<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> T? {
        try withStatement(sql, arguments) { statement in
            try statement.step() ? read(Row(statement: statement)) : nil
        }
    }

    /// Runs `body` with `sql` prepared and `arguments` bound: the cached statement when it is
    /// free, a fresh one when it is busy (the same query asked again while reading its rows).
    private func withStatement<T>(_ sql: String, _ arguments: [SQLValue], _ body: (Statement) throws -> T) throws -> T {
        let statement: Statement
        let cached = prepared.first { $0.sql == sql }?.statement
        if let cached, !cached.isBusy {
            statement = cached
        } else {
            statement = try Statement(self, sql)
            // Bounded, for a long-lived process: queries built with a list of `?`s vary in text.
            if cached == nil && prepared.count < 128 { prepared.append((sql, statement)) }
        }
        statement.isBusy = true
        defer { statement.reset() }
        try statement.bind(arguments)
        return try body(statement)
    }

    /// Runs `body` in one write transaction. `BEGIN IMMEDIATE` takes the write lock up front,
    /// so two processes never both read, then both fail to upgrade (which SQLite reports as
    /// SQLITE_BUSY at once, without honouring the busy timeout).
    ///
    /// Called inside another write transaction, `body` runs in a savepoint of it: its changes
    /// commit or roll back with the outer transaction (an audit event with the change it records),
    /// and a failure inside undoes only the inner part.
    package func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try writeTransaction(durable: true, body)
    }

    /// - Parameter durable: `false` commits without waiting for the disk (WAL with
    ///   `synchronous = NORMAL`): still atomic and consistent, but a power cut may lose it. Only
    ///   for writes whose loss a later command repairs (rotation's pushed and promoted steps,
    ///   which settling redoes from the durable journal row).
    package func writeTransaction<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        if writeDepth > 0 {
            writeDepth += 1
            defer { writeDepth -= 1 }
            return try savepoint(body)
        }
        // Cached statements, not `execute(script:)`: `sqlite3_exec` parses its text every time,
        // and a bulk rotation runs thousands of these.
        if !durable { try execute("PRAGMA synchronous = NORMAL", []) }
        defer { if !durable { _ = try? execute("PRAGMA synchronous = FULL", []) } }
        try execute("BEGIN IMMEDIATE", [])
        writeDepth = 1
        defer { writeDepth = 0 }
        do {
            let result = try body()
            try execute("COMMIT", [])
            // Copy the WAL into the main file now, not when the connection closes: the main file
            // stays a complete copy after every command, and a process that only read pays nothing
            // on exit.
            if !defersCheckpoints { checkpoint() }
            return result
        } catch {
            _ = try? execute("ROLLBACK", [])
            throw error
        }
    }

    /// Set during bulk work (thousands of small transactions): commits stay durable in the WAL
    /// (synchronous = FULL), and one checkpoint at the end copies them into the main file.
    package var defersCheckpoints = false

    /// Copies the WAL into the main file and, when every frame is copied and nobody reads from
    /// it, empties it. Never waits: with another process writing or reading an older snapshot it
    /// copies what it can (as PASSIVE would) and leaves the rest to the next write.
    ///
    /// Emptied, not only copied: the first connection to open a vault runs SQLite's WAL recovery,
    /// which reads the whole WAL and then forgets how much of it was copied, so the next write
    /// appends instead of starting the WAL again. With one process per command, that was every
    /// write: the WAL grew by every command's pages (8.4 MB after 200 `client add`s) and every
    /// command's open read all of it. `FileTests.theWALDoesNotGrowFromOneCommandToTheNext`.
    package func checkpoint() {
        sqlite3_busy_timeout(handle, 0)  // TRUNCATE would wait for readers and writers through it
        defer { sqlite3_busy_timeout(handle, Self.milliseconds(activeBusyTimeout)) }
        _ = sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_TRUNCATE, nil, nil)
    }

    /// How many `writeTransaction`s are open on this connection: 0 outside any.
    private var writeDepth = 0

    /// Whether a write transaction is open on this connection.
    package var isInWriteTransaction: Bool { writeDepth > 0 }

    /// Runs `body` with the busy timeout set to `timeout`, for a write that must not keep the
    /// caller waiting as long as a change would (a best-effort audit event after a failure).
    package func withBusyTimeout<T>(_ timeout: Duration, _ body: () throws -> T) rethrows -> T {
        let outer = activeBusyTimeout
        activeBusyTimeout = timeout
        sqlite3_busy_timeout(handle, Self.milliseconds(timeout))
        defer {
            activeBusyTimeout = outer
            sqlite3_busy_timeout(handle, Self.milliseconds(outer))
        }
        return try body()
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// A read transaction: every query inside sees the same snapshot.
    package func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN", [])
        defer { _ = try? execute("COMMIT", []) }
        return try body()
    }

    /// `body` in a read transaction, or in the write transaction already open (which is a
    /// snapshot too): every query inside sees the same state.
    package func readTransactionUnlessWriting<T>(_ body: () throws -> T) throws -> T {
        isInWriteTransaction ? try body() : try readTransaction(body)
    }

    /// The error for `status`, with SQLite's message and the OS error behind it.
    func error(_ status: Int32, message: String? = nil) -> any Error {
        if status & 0xff == SQLITE_CORRUPT || status & 0xff == SQLITE_NOTADB {
            cloak_sqlite3_checkpoint_on_close(handle, 0)  // damage found after opening: leave the file as it is
        }
        return reporting(StoreError(status: status, message: message ?? String(cString: sqlite3_errmsg(handle)), path: path,
                                    systemErrno: sqlite3_system_errno(handle)))
    }

    /// `error` as the owner reports it: for a failure found above SQLite (a newer schema).
    package func report(_ error: StoreError) -> any Error { reporting(error) }
}
