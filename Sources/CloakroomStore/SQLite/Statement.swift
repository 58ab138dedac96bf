internal import CSQLite

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// One prepared statement; finalised when released.
final class Statement {
    let pointer: OpaquePointer
    private unowned let database: Database
    /// Stepping or holding rows: not to be handed out again until reset.
    var isBusy = false

    // SQLite copies bound text and blobs immediately when told the buffer is transient.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ database: Database, _ sql: String) throws {
        self.database = database
        var pointer: OpaquePointer?
        let status = sqlite3_prepare_v3(database.handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &pointer, nil)
        guard status == SQLITE_OK, let pointer else { throw database.error(status) }
        self.pointer = pointer
    }

    deinit {
        sqlite3_finalize(pointer)
    }

    func bind(_ arguments: [SQLValue]) throws {
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
    func reset() {
        sqlite3_reset(pointer)
        sqlite3_clear_bindings(pointer)
        isBusy = false
    }

    /// Advances; `true` while there is a row to read.
    func step() throws -> Bool {
        switch sqlite3_step(pointer) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let status: throw database.error(status)
        }
    }

    /// Column indexes already looked up, by the address of the name's literal: a cached
    /// statement reads thousands of rows by the same few names, and comparing an address costs
    /// less than comparing the text (the `strcmp`s were 8 % of an export of 10,000 clients).
    private var known: [(name: UnsafeRawPointer, index: Int32)] = []

    /// The index of the result column called `name` (its `AS` alias, or the column's own name).
    /// A linear scan: a query has a handful of columns, and hashing would cost more.
    func column(_ name: StaticString) -> Int32 {
        let address = UnsafeRawPointer(name.utf8Start)
        for entry in known where entry.name == address { return entry.index }
        let count = sqlite3_column_count(pointer)
        for index in 0..<count {
            if let candidate = sqlite3_column_name(pointer, index), strcmp(candidate, address.assumingMemoryBound(to: CChar.self)) == 0 {
                known.append((address, index))
                return index
            }
        }
        preconditionFailure("the query has no result column \(name)")
    }
}

/// The current row of a statement, read by column name (or, while the queries move into the
/// store, by index).
package struct Row: SQLRow {
    let statement: Statement
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
