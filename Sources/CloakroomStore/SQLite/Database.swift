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
package final class Database {
    fileprivate let handle: OpaquePointer
    package let path: String
    /// How long a writer waits for another process's write lock, unless `withBusyTimeout` says otherwise.
    package let busyTimeout: Duration
    /// Statements prepared once and reused, by their SQL: preparing costs more than most of the
    /// vault's queries do to run.
    private var prepared: [String: Statement] = [:]
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

    /// Runs one statement; returns the number of rows it changed.
    @discardableResult
    package func execute(_ sql: String, _ arguments: SQLValue...) throws -> Int {
        try execute(sql, arguments)
    }

    @discardableResult
    package func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        try withStatement(sql, arguments) { statement in
            while try statement.step() {}
        }
        return Int(sqlite3_changes(handle))
    }

    /// The rows of one query, each turned into a value by `read`.
    package func rows<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> [T] {
        try rows(sql, arguments, read: read)
    }

    package func rows<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> [T] {
        try withStatement(sql, arguments) { statement in
            var result: [T] = []
            while try statement.step() { result.append(try read(Row(statement: statement))) }
            return result
        }
    }

    /// The first row of one query, or `nil`.
    package func row<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> T? {
        try row(sql, arguments, read: read)
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
        if let cached = prepared[sql], !cached.isBusy {
            statement = cached
        } else {
            statement = try Statement(self, sql)
            // Bounded, for a long-lived process: queries built with a list of `?`s vary in text.
            if prepared[sql] == nil && prepared.count < 128 { prepared[sql] = statement }
        }
        statement.isBusy = true
        defer { statement.reset() }
        try statement.bind(arguments)
        return try body(statement)
    }

    package var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

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
            try execute(script: "SAVEPOINT nested")
            writeDepth += 1
            defer { writeDepth -= 1 }
            do {
                let result = try body()
                try execute(script: "RELEASE nested")
                return result
            } catch {
                try? execute(script: "ROLLBACK TO nested; RELEASE nested")
                throw error
            }
        }
        if !durable { try execute(script: "PRAGMA synchronous = NORMAL") }
        defer { if !durable { _ = try? execute(script: "PRAGMA synchronous = FULL") } }
        try execute(script: "BEGIN IMMEDIATE")
        writeDepth = 1
        defer { writeDepth = 0 }
        do {
            let result = try body()
            try execute(script: "COMMIT")
            // Copy the WAL into the main file now, not when the connection closes: the main file
            // stays a complete copy after every command, and a process that only read pays nothing
            // on exit. PASSIVE never waits for readers; what it cannot copy, the next write will.
            if !defersCheckpoints { _ = try? execute(script: "PRAGMA wal_checkpoint(PASSIVE)") }
            return result
        } catch {
            try? execute(script: "ROLLBACK")
            throw error
        }
    }

    /// Set during bulk work (thousands of small transactions): commits stay durable in the WAL
    /// (synchronous = FULL), and one checkpoint at the end copies them into the main file.
    package var defersCheckpoints = false

    package func checkpoint() { _ = try? execute(script: "PRAGMA wal_checkpoint(PASSIVE)") }

    /// How many `writeTransaction`s are open on this connection: 0 outside any.
    private var writeDepth = 0

    /// Whether a write transaction is open on this connection.
    package var isInWriteTransaction: Bool { writeDepth > 0 }

    /// Runs `body` with the busy timeout set to `timeout`, for a write that must not keep the
    /// caller waiting as long as a change would (a best-effort audit event after a failure).
    package func withBusyTimeout<T>(_ timeout: Duration, _ body: () throws -> T) rethrows -> T {
        sqlite3_busy_timeout(handle, Self.milliseconds(timeout))
        defer { sqlite3_busy_timeout(handle, Self.milliseconds(busyTimeout)) }
        return try body()
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// A read transaction: every query inside sees the same snapshot.
    package func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute(script: "BEGIN")
        defer { try? execute(script: "COMMIT") }
        return try body()
    }

    /// `body` in a read transaction, or in the write transaction already open (which is a
    /// snapshot too): every query inside sees the same state.
    package func readTransactionUnlessWriting<T>(_ body: () throws -> T) throws -> T {
        isInWriteTransaction ? try body() : try readTransaction(body)
    }

    /// The error for `status`, with SQLite's message and the OS error behind it.
    fileprivate func error(_ status: Int32, message: String? = nil) -> any Error {
        if status & 0xff == SQLITE_CORRUPT || status & 0xff == SQLITE_NOTADB {
            cloak_sqlite3_checkpoint_on_close(handle, 0)  // damage found after opening: leave the file as it is
        }
        return reporting(StoreError(status: status, message: message ?? String(cString: sqlite3_errmsg(handle)), path: path,
                                    systemErrno: sqlite3_system_errno(handle)))
    }

    /// `error` as the owner reports it: for a failure found above SQLite (a newer schema).
    package func report(_ error: StoreError) -> any Error { reporting(error) }
}

/// A failure of the store, sorted by what a user must do about it. The domain turns it into the
/// sentences users read (`VaultError.init(_: StoreError)`); this layer names no command.
package struct StoreError: Error, Sendable, CustomStringConvertible {
    package enum Kind: Sendable, Equatable {
        /// Another process held the write lock past the busy timeout.
        case busy
        /// The file is damaged.
        case corrupted
        /// Not a database at all (or damaged beyond reading).
        case notADatabase
        /// This connection may not write (read-only file, directory or mount).
        case readOnly
        /// The file could not be opened.
        case cannotOpen
        /// The disk is full (SQLITE_FULL, or an I/O error whose errno says so).
        case diskFull
        /// The operating system failed a read or write.
        case io
        /// A UNIQUE, CHECK, NOT NULL or FOREIGN KEY constraint refused a change.
        case constraint
        /// The vault's schema is `found`, newer than the `known` this binary can apply.
        case newerSchema(found: Int, known: Int)
        /// A database, but not a vault (another application's).
        case foreignDatabase
        /// The schema is `found`, older than `known`, and this connection cannot write to upgrade it.
        case readOnlyNeedsUpgrade(found: Int, known: Int)
        /// The row naming the vault (its random id) is missing or damaged.
        case missingIdentity
        /// Anything else SQLite reports.
        case other
    }

    package var kind: Kind
    /// The database file.
    package var path: String
    /// SQLite's own message (no values from the rows: SQLite does not quote them).
    package var message: String
    /// SQLite's extended result code, for `--debug`.
    package var code: Int32

    package init(kind: Kind, path: String, message: String, code: Int32 = 0) {
        self.kind = kind
        self.path = path
        self.message = message
        self.code = code
    }

    /// - Parameter systemErrno: the OS error behind an I/O failure. A full disk reaches SQLite
    ///   as SQLITE_IOERR_WRITE (or _FSYNC) when the WAL grows, not as SQLITE_FULL, so only errno
    ///   tells the user it is a full disk rather than a failing one.
    init(status: Int32, message: String, path: String, systemErrno: Int32) {
        let kind: Kind
        switch status & 0xff {
        case SQLITE_FULL: kind = .diskFull
        case SQLITE_IOERR where systemErrno == ENOSPC || systemErrno == EDQUOT: kind = .diskFull
        case SQLITE_BUSY, SQLITE_LOCKED: kind = .busy
        case SQLITE_CORRUPT: kind = .corrupted
        case SQLITE_NOTADB: kind = .notADatabase
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH: kind = .readOnly
        case SQLITE_CANTOPEN: kind = .cannotOpen
        case SQLITE_IOERR: kind = .io
        case SQLITE_CONSTRAINT: kind = .constraint
        default: kind = .other
        }
        self.init(kind: kind, path: path, message: message, code: status)
    }

    package var description: String { "SQLite error \(code): \(message)" }
}

/// One prepared statement; finalised when released.
final class Statement {
    fileprivate let pointer: OpaquePointer
    private unowned let database: Database
    /// Stepping or holding rows: not to be handed out again until reset.
    fileprivate var isBusy = false

    // SQLite copies bound text and blobs immediately when told the buffer is transient.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    fileprivate init(_ database: Database, _ sql: String) throws {
        self.database = database
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw database.error(status) }
        self.pointer = pointer
    }

    deinit {
        sqlite3_finalize(pointer)
    }

    fileprivate func bind(_ arguments: [SQLValue]) throws {
        for (index, value) in arguments.enumerated() {
            let position = Int32(index + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(pointer, position)
            case .integer(let number): status = sqlite3_bind_int64(pointer, position, number)
            case .text(let text): status = sqlite3_bind_text(pointer, position, text, -1, Self.transient)
            case .blob(let bytes):
                status = bytes.withUnsafeBytes {
                    sqlite3_bind_blob(pointer, position, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32($0.count), Self.transient)
                }
            }
            guard status == SQLITE_OK else { throw database.error(status) }
        }
    }

    /// Ready for the next use: no open read (which would hold a WAL snapshot), no bound values
    /// (a bound secret-bearing blob would otherwise stay in SQLite's memory until the next use).
    fileprivate func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
        isBusy = false
    }

    /// Advances; `true` while there is a row to read.
    fileprivate func step() throws -> Bool {
        switch sqlite3_step(pointer) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw database.error(status)
        }
    }

    /// The index of the result column called `name` (its `AS` alias, or the column's own name).
    /// A linear scan with `strcmp`: a query has a handful of columns, and hashing would cost more.
    fileprivate func column(_ name: StaticString) -> Int32 {
        let count = sqlite3_column_count(pointer)
        for index in 0..<count {
            if let candidate = sqlite3_column_name(pointer, index),
               strcmp(candidate, UnsafeRawPointer(name.utf8Start).assumingMemoryBound(to: CChar.self)) == 0 {
                return index
            }
        }
        preconditionFailure("the query has no result column \(name)")
    }
}

/// The current row of a statement, read by column name (or, while the queries move into the
/// store, by index).
package struct Row {
    fileprivate let statement: Statement
    private var pointer: OpaquePointer { statement.pointer }

    package func isNull(_ column: Int32) -> Bool { sqlite3_column_type(pointer, column) == SQLITE_NULL }

    package func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(pointer, column) }

    package func text(_ column: Int32) -> String {
        guard let characters = sqlite3_column_text(pointer, column) else { return "" }
        return String(cString: characters)
    }

    package func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    package func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(pointer, column))
        guard count > 0, let bytes = sqlite3_column_blob(pointer, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    package func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }

    package func isNull(_ name: StaticString) -> Bool { isNull(statement.column(name)) }
    package func integer(_ name: StaticString) -> Int64 { integer(statement.column(name)) }
    package func optionalInteger(_ name: StaticString) -> Int64? {
        let column = statement.column(name)
        return isNull(column) ? nil : integer(column)
    }
    package func text(_ name: StaticString) -> String { text(statement.column(name)) }
    package func optionalText(_ name: StaticString) -> String? { optionalText(statement.column(name)) }
    package func blob(_ name: StaticString) -> [UInt8] { blob(statement.column(name)) }
    package func optionalBlob(_ name: StaticString) -> [UInt8]? { optionalBlob(statement.column(name)) }
}

extension SQLValue {
    package static func optional(_ text: String?) -> SQLValue { text.map(SQLValue.text) ?? .null }
    package static func optional(_ number: Int64?) -> SQLValue { number.map(SQLValue.integer) ?? .null }
    package static func optional(_ bytes: [UInt8]?) -> SQLValue { bytes.map(SQLValue.blob) ?? .null }
}
