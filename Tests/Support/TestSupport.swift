public import Foundation
import CSQLite

/// A private temporary directory, removed with everything in it when released.
public final class TemporaryDirectory: @unchecked Sendable {
    public let path: String

    public init() {
        var template = Array((NSTemporaryDirectory() + "/cloakroom-test-XXXXXX").utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }
}

/// Reads and edits a vault file with raw SQLite, as someone holding the file (but not the key) could.
public enum RawVault {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Every row of every table as text: equal before and after means nothing changed.
    public static func contents(of path: String) throws -> String {
        try withDatabase(path) { db in
            var text = ""
            for table in try query(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") {
                let columns = try query(db, "SELECT 'quote(\"' || name || '\")' FROM pragma_table_info('\(table)')")
                text += "== \(table)\n"
                text += try query(db, "SELECT \(columns.joined(separator: " || '|' || ")) FROM \"\(table)\" ORDER BY rowid").joined(separator: "\n") + "\n"
            }
            return text
        }
    }

    /// Runs `sql` and returns the first column of every row as text.
    @discardableResult
    public static func execute(_ path: String, _ sql: String) throws -> [String] {
        try withDatabase(path) { try query($0, sql) }
    }

    /// Runs `body` while this process holds the vault's write lock (`BEGIN IMMEDIATE`).
    public static func holdingWriteLock<T>(_ path: String, _ body: () throws -> T) throws -> T {
        try withDatabase(path) { db in
            _ = try query(db, "BEGIN IMMEDIATE")
            defer { _ = try? query(db, "ROLLBACK") }
            return try body()
        }
    }

    /// `holdingWriteLock`, for a body that suspends.
    public static func holdingWriteLock<T>(_ path: String, _ body: () async throws -> T) async throws -> T {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            sqlite3_close(db)
            throw Failure(description: "cannot open \(path)")
        }
        defer { sqlite3_close(db) }
        _ = try query(db, "BEGIN IMMEDIATE")
        defer { _ = try? query(db, "ROLLBACK") }
        return try await body()
    }

    private static func withDatabase<T>(_ path: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        var db: OpaquePointer?
        guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, nil) == SQLITE_OK, let db else {
            sqlite3_close(db)
            throw Failure(description: "cannot open \(path)")
        }
        defer { sqlite3_close(db) }
        sqlite3_busy_timeout(db, 5000)
        return try body(db)
    }

    private static func query(_ db: OpaquePointer, _ sql: String) throws -> [String] {
        var rows: [String] = []
        var remaining = sql
        while !remaining.isEmpty {
            var statement: OpaquePointer?
            var tail: UnsafePointer<CChar>?
            let status = remaining.withCString { text -> Int32 in
                let status = sqlite3_prepare_v2(db, text, -1, &statement, &tail)
                remaining = tail.map { String(cString: $0) } ?? ""
                return status
            }
            guard status == SQLITE_OK else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
            guard let statement else { break }  // only whitespace or comments left
            defer { sqlite3_finalize(statement) }
            while true {
                let step = sqlite3_step(statement)
                if step == SQLITE_DONE { break }
                guard step == SQLITE_ROW else { throw Failure(description: String(cString: sqlite3_errmsg(db))) }
                rows.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "NULL")
            }
            remaining = remaining.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        return rows
    }
}

extension Process {
    /// Starts the process and returns the first line it prints (trimmed): the servers the tests
    /// start print their base URL once they accept connections. Empty if it exits first.
    public func runReadingFirstLine() throws -> String {
        let output = Pipe()
        standardOutput = output
        standardError = FileHandle.nullDevice
        try run()
        var line = Data()
        let handle = output.fileHandleForReading
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        return String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
