import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension String {
    /// `replacement` for an empty cell of a table.
    func ifEmpty(_ replacement: String) -> String { isEmpty ? replacement : self }
}

/// Results on stdout: aligned tables for people, JSON for scripts.
///
/// A cell or a record's value is one line, and may hold what a server sent (a token's claims, a
/// role name): its control characters are shown escaped, so that no value can move the cursor,
/// recolour the terminal or forge a line of output. JSON escapes them by itself.
enum Output {
    /// Prints `rows` under `headers`, columns padded to their widest cell.
    static func table(_ headers: [String], _ rows: [[String]]) {
        let all = ([headers] + rows).map { $0.map(\.escapingControlCharacters) }
        let widths = headers.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        var text = ""
        for row in all {
            let cells = row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : pad(cell, widths[index])
            }
            text += cells.joined(separator: "  ") + "\n"
        }
        Terminal.write(1, text)
    }

    /// Prints `pairs` as `key  value` lines: one record for people.
    static func record(_ pairs: [(String, String)]) {
        let pairs = pairs.map { ($0.0.escapingControlCharacters, $0.1.escapingControlCharacters) }
        let width = pairs.map(\.0.count).max() ?? 0
        Terminal.write(1, pairs.map { pad($0.0, width) + "  " + $0.1 + "\n" }.joined())
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    static func write(_ text: String) { Terminal.write(1, text) }

    static func json(_ value: JSON) {
        Terminal.write(1, value.text)
    }

    /// ISO-8601 in UTC to the second: `2026-11-29T14:52:29Z`.
    static func time(_ date: Date) -> String { date.iso8601 }
}
