#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

extension Date {
    /// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the times ISO 8601's four-digit years can show.
    package static let earliestISO8601: TimeInterval = -62_135_596_800
    package static let latestISO8601: TimeInterval = 253_402_300_799

    /// ISO-8601 in UTC to the second, `2026-11-29T14:52:29Z`: how cloak shows every time, in
    /// tables, JSON and messages (`cloak doctor` naming an audit event).
    package var iso8601: String {
        // A time can come from a token's claims, any JSON number: Int64(_:) would trap on NaN,
        // infinity or beyond ±9.2e18 (found by fuzzing `cloak inspect`'s claims).
        guard timeIntervalSince1970.isFinite, (Self.earliestISO8601...Self.latestISO8601).contains(timeIntervalSince1970) else {
            return "(not a time: \(timeIntervalSince1970) seconds since 1970)"
        }
        let seconds = Int64(timeIntervalSince1970.rounded(.down))
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
