#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durations as people type and read them: `90d`, `12h`, `30m`, `45s`, or plain seconds.
enum Durations {
    /// - Throws: `UsageError` for anything else.
    static func parse(_ text: String, option: String) throws -> TimeInterval {
        guard let seconds = seconds(text) else {
            throw UsageError("\(option) takes a duration such as 90d, 12h, 30m, 45s or a number of seconds, not '\(text.prefix(40))'.")
        }
        return seconds
    }

    /// `text` in seconds, or `nil` when it is not a duration; with `unitRequired`, a bare number
    /// is not one either (`--since 2026` must not mean 2026 seconds ago).
    static func seconds(_ text: String, unitRequired: Bool = false) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
        var number = Substring(text)
        var unit: Double?
        if let last = text.last, let factor = units[last] {
            number = text.dropLast()
            unit = factor
        }
        guard unit != nil || !unitRequired, number.first != "+", let value = Double(number), value >= 0, value.isFinite else { return nil }
        return value * (unit ?? 1)
    }

    /// The largest whole unit: `90d`, `12h`, `30m`, `45s`.
    static func text(_ seconds: TimeInterval) -> String {
        let whole = Int64(seconds)
        for (unit, size) in [("w", Int64(604_800)), ("d", 86_400), ("h", 3600), ("m", 60)] where whole >= size && whole % size == 0 {
            return "\(whole / size)\(unit)"
        }
        return "\(whole)s"
    }

    /// An age as people read it: `45s`, `12m`, `5h`, `90d`.
    static func age(_ seconds: TimeInterval) -> String {
        let whole = max(0, Int64(seconds))
        for (unit, size) in [("d", Int64(86_400)), ("h", 3600), ("m", 60)] where whole >= size { return "\(whole / size)\(unit)" }
        return "\(whole)s"
    }

    /// `12 ms`, `3.45 s`.
    static func milliseconds(_ duration: Duration) -> String {
        let ms = Int64(duration / .milliseconds(1))
        return ms < 1000 ? "\(ms) ms" : "\(ms / 1000).\(String(ms % 1000 / 10 + 100).dropFirst()) s"
    }
}
