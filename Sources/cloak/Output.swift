#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Results on stdout: aligned tables for people, JSON for scripts.
enum Output {
    /// Prints `rows` under `headers`, columns padded to their widest cell.
    static func table(_ headers: [String], _ rows: [[String]]) {
        let all = [headers] + rows
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
    static func time(_ date: Date) -> String {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        // Howard Hinnant's days-to-civil conversion.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60))Z"
    }
}
