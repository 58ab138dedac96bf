internal import CloakroomStore
internal import PostgresNIO

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
