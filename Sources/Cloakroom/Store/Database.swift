internal import CSQLite

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A value bound to, or read from, an SQL statement.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])
}

/// A thin wrapper over one SQLite connection: statements, bound parameters, transactions,
/// and SQLite's result codes turned into `VaultError`s a user can act on.
///
/// Deliberately small: the vault needs a dozen queries, and a cached token must cost one
/// indexed read with nothing else loaded (see the README on why not GRDB).
final class Database {
    fileprivate let handle: OpaquePointer
    let path: String
    /// How long a writer waits for another process's write lock, unless `withBusyTimeout` says otherwise.
    let busyTimeout: Duration

    enum Mode {
        case readWrite, create
        /// Reads only, with SQLite's locks: for a vault in a directory this process cannot write.
        case readOnly
        /// Reads only, without locks or a `-shm` file (`immutable=1`): for a read-only file
        /// system, where nobody can be writing and WAL's shared memory cannot be created.
        case immutable
    }

    /// - Parameter busyTimeout: how long a writer waits for another process's write lock.
    init(path: String, mode: Mode, busyTimeout: Duration) throws {
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
            throw Self.error(status, message, path: path)
        }
        self.handle = handle
        self.path = path
        self.busyTimeout = busyTimeout
        sqlite3_busy_timeout(handle, Self.milliseconds(busyTimeout))
        sqlite3_extended_result_codes(handle, 1)
        cloak_sqlite3_checkpoint_on_close(handle, 0)
    }

    deinit {
        sqlite3_close_v2(handle)
    }

    /// Whether this connection can only read (`readOnly` or `immutable`).
    var isReadOnly: Bool { sqlite3_db_readonly(handle, "main") == 1 }

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
    func execute(script sql: String) throws {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        if status != SQLITE_OK {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            _ = lastError(status)
            throw Self.error(status, text, path: path, systemErrno: sqlite3_system_errno(handle))
        }
    }

    /// Runs one statement; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLValue...) throws -> Int {
        try execute(sql, arguments)
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int {
        let statement = try Statement(self, sql, arguments)
        while try statement.step() {}
        return Int(sqlite3_changes(handle))
    }

    /// The rows of one query, each turned into a value by `read`.
    func rows<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> [T] {
        try rows(sql, arguments, read: read)
    }

    func rows<T>(_ sql: String, _ arguments: [SQLValue], read: (Row) throws -> T) throws -> [T] {
        let statement = try Statement(self, sql, arguments)
        var result: [T] = []
        while try statement.step() { result.append(try read(Row(statement: statement.pointer))) }
        return result
    }

    /// The first row of one query, or `nil`.
    func row<T>(_ sql: String, _ arguments: SQLValue..., read: (Row) throws -> T) throws -> T? {
        let statement = try Statement(self, sql, arguments)
        return try statement.step() ? read(Row(statement: statement.pointer)) : nil
    }

    var lastInsertedRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one write transaction. `BEGIN IMMEDIATE` takes the write lock up front,
    /// so two processes never both read, then both fail to upgrade (which SQLite reports as
    /// SQLITE_BUSY at once, without honouring the busy timeout).
    ///
    /// Called inside another write transaction, `body` runs in a savepoint of it: its changes
    /// commit or roll back with the outer transaction (an audit event with the change it records),
    /// and a failure inside undoes only the inner part.
    func writeTransaction<T>(_ body: () throws -> T) throws -> T {
        try writeTransaction(durable: true, body)
    }

    /// - Parameter durable: `false` commits without waiting for the disk (WAL with
    ///   `synchronous = NORMAL`): still atomic and consistent, but a power cut may lose it. Only
    ///   for writes whose loss a later command repairs (rotation's pushed and promoted steps,
    ///   which settling redoes from the durable journal row).
    func writeTransaction<T>(durable: Bool, _ body: () throws -> T) throws -> T {
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
    var defersCheckpoints = false

    func checkpoint() { _ = try? execute(script: "PRAGMA wal_checkpoint(PASSIVE)") }

    /// How many `writeTransaction`s are open on this connection: 0 outside any.
    private var writeDepth = 0

    /// Whether a write transaction is open on this connection.
    var isInWriteTransaction: Bool { writeDepth > 0 }

    /// Runs `body` with the busy timeout set to `timeout`, for a write that must not keep the
    /// caller waiting as long as a change would (a best-effort audit event after a failure).
    func withBusyTimeout<T>(_ timeout: Duration, _ body: () throws -> T) rethrows -> T {
        sqlite3_busy_timeout(handle, Self.milliseconds(timeout))
        defer { sqlite3_busy_timeout(handle, Self.milliseconds(busyTimeout)) }
        return try body()
    }

    private static func milliseconds(_ duration: Duration) -> Int32 {
        let (seconds, attoseconds) = duration.components
        return Int32(clamping: seconds * 1000 + attoseconds / 1_000_000_000_000_000)
    }

    /// A read transaction: every query inside sees the same snapshot.
    func readTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute(script: "BEGIN")
        defer { try? execute(script: "COMMIT") }
        return try body()
    }

    /// `body` in a read transaction, or in the write transaction already open (which is a
    /// snapshot too): every query inside sees the same state.
    func readTransactionUnlessWriting<T>(_ body: () throws -> T) throws -> T {
        isInWriteTransaction ? try body() : try readTransaction(body)
    }

    fileprivate func lastError(_ status: Int32) -> VaultError {
        if status & 0xff == SQLITE_CORRUPT || status & 0xff == SQLITE_NOTADB {
            cloak_sqlite3_checkpoint_on_close(handle, 0)  // damage found after opening: leave the file as it is
        }
        return Self.error(status, String(cString: sqlite3_errmsg(handle)), path: path, systemErrno: sqlite3_system_errno(handle))
    }

    /// SQLite's result codes, grouped by what the user must do about them.
    /// - Parameter systemErrno: the OS error behind an I/O failure. A full disk reaches SQLite
    ///   as SQLITE_IOERR_WRITE (or _FSYNC) when the WAL grows, not as SQLITE_FULL, so only errno
    ///   tells the user it is a full disk rather than a failing one.
    static func error(_ status: Int32, _ message: String, path: String, systemErrno: Int32 = 0) -> VaultError {
        let underlying = SQLiteError(code: status, message: message)
        let full = status & 0xff == SQLITE_FULL || (status & 0xff == SQLITE_IOERR && (systemErrno == ENOSPC || systemErrno == EDQUOT))
        if full {
            return VaultError(.io, "the disk holding \(path) is full; free some space and try again (the vault keeps what it held before this write).", underlying: underlying)
        }
        switch status & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return VaultError(.busy, "the vault \(path) is locked by another process; try again when it has finished.", underlying: underlying)
        case SQLITE_CORRUPT:
            return VaultError(.corrupted, "the vault \(path) is damaged (\(message)). Restore it from a backup; `cloak doctor` shows what is affected.", underlying: underlying)
        case SQLITE_NOTADB:
            return VaultError(.notAVault, "\(path) is not a Cloakroom vault (not an SQLite database, or damaged beyond reading).", underlying: underlying)
        case SQLITE_READONLY, SQLITE_PERM, SQLITE_AUTH:
            return VaultError(.permissions, "cannot write the vault \(path): \(message). Commands that only read work on a read-only vault; this one writes, so it needs the file and its directory writable.", underlying: underlying)
        case SQLITE_CANTOPEN:
            return VaultError(.permissions, "cannot open the vault \(path): \(message). Check that its directory exists and is writable.", underlying: underlying)
        case SQLITE_IOERR:
            return VaultError(.io, "reading or writing \(path) failed (\(message)); check the disk (the vault keeps what it held before this write).", underlying: underlying)
        default:
            return VaultError(.io, "the vault \(path) could not be used: \(message).", underlying: underlying)
        }
    }
}

/// SQLite's own report, kept as the underlying error for `--debug`.
struct SQLiteError: Error, Sendable, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { "SQLite error \(code): \(message)" }
    var isConstraintViolation: Bool { code & 0xff == SQLITE_CONSTRAINT }
}

extension VaultError {
    /// Whether this error is SQLite refusing a UNIQUE/CHECK/FOREIGN KEY constraint.
    var isConstraintViolation: Bool { (underlying as? SQLiteError)?.isConstraintViolation ?? false }
}

/// One prepared statement; finalised when released.
final class Statement {
    fileprivate let pointer: OpaquePointer
    private unowned let database: Database

    // SQLite copies bound text and blobs immediately when told the buffer is transient.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    fileprivate init(_ database: Database, _ sql: String, _ arguments: [SQLValue]) throws {
        self.database = database
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v2(database.handle, sql, -1, &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw database.lastError(status) }
        self.pointer = pointer
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
            guard status == SQLITE_OK else { throw database.lastError(status) }
        }
    }

    deinit {
        sqlite3_finalize(pointer)
    }

    /// Advances; `true` while there is a row to read.
    fileprivate func step() throws -> Bool {
        switch sqlite3_step(pointer) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw database.lastError(status)
        }
    }
}

/// The current row of a statement, read by column index.
struct Row {
    fileprivate let statement: OpaquePointer

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement, column) == SQLITE_NULL }

    func integer(_ column: Int32) -> Int64 { sqlite3_column_int64(statement, column) }

    func text(_ column: Int32) -> String {
        guard let characters = sqlite3_column_text(statement, column) else { return "" }
        return String(cString: characters)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(statement, column))
        guard count > 0, let bytes = sqlite3_column_blob(statement, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    func optionalBlob(_ column: Int32) -> [UInt8]? { isNull(column) ? nil : blob(column) }
}
