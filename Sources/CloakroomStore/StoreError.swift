internal import CSQLite

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

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
        /// The operating system refused `what` (creating or opening a file the store needs),
        /// with `errno` `code`.
        case system(code: Int32, what: String)
        /// A server-backed vault's location holds no vault (its schema has none).
        case noVault
        /// A server-backed vault's location holds a vault already (creating one there).
        case vaultExists
        /// The schema is `found`, older than `known`, and this role may not upgrade it (only the
        /// schema's owner runs DDL).
        case needsUpgrade(found: Int, known: Int)
        /// A server-backed vault's location (its URL) is not usable as written.
        case invalidLocation
        /// The vault's database server could not be reached, or refused the connection (its
        /// message says which host and why; never a password).
        case unreachable
        /// The server refused this role something it needs (a table it may not read or write).
        case denied
        /// Anything else the backend reports.
        case other
    }

    package var kind: Kind
    /// The database file, or a server-backed vault's URL.
    package var path: String
    /// The backend's own message (no values from the rows: neither SQLite nor PostgreSQL quote
    /// them in what the stores ask).
    package var message: String
    /// SQLite's extended result code, for `--debug` (0 from other backends: their message says).
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

    package var description: String { code == 0 ? message : "SQLite error \(code): \(message)" }
}
