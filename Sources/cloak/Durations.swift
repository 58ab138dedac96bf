import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Durations as people type and read them: `90d`, `12h`, `30m`, `45s`, or plain seconds.
enum Durations {
    /// The longest duration cloak takes anywhere: a century. Anything longer is a typo, and a
    /// few centuries no longer fit the milliseconds the vault stores (`1e300w` used to crash
    /// converting to `Int64`).
    static let longest = UnlockedVault.longestPeriod.inSeconds

    /// - Throws: `UsageError`, naming the allowed range, for anything else.
    static func parse(_ text: String, option: String, range: ClosedRange<TimeInterval> = 0...longest) throws -> TimeInterval {
        guard let seconds = seconds(text) else {
            throw UsageError("\(option) takes a duration such as 90d, 12h, 30m, 45s or a number of seconds, not '\(text.prefix(40).escapingControlCharacters)'.")
        }
        return try check(seconds, option: option, range: range)
    }

    /// `seconds` if `range` holds it; otherwise a usage error that names the range.
    static func check(_ seconds: TimeInterval, option: String, range: ClosedRange<TimeInterval>) throws -> TimeInterval {
        guard range.contains(seconds) else {
            throw UsageError("\(option) must be from \(text(range.lowerBound)) to \(text(range.upperBound)).")
        }
        return seconds
    }

    /// A number of seconds from `setting`'s environment variable, `fallback` when it is unset or
    /// empty. Unparsable or out of range is a usage error (exit 2), not a silent default.
    static func environment(_ setting: EnvironmentSetting, fallback: TimeInterval) throws -> TimeInterval {
        guard let value = Environment.value(setting.variable) else { return fallback }
        guard let seconds = Double(value), seconds.isFinite else {
            throw UsageError("\(setting.variable) must be a number of seconds from \(text(setting.lowest)) to \(text(setting.highest)), not '\(value.prefix(40).escapingControlCharacters)'.")
        }
        return try check(seconds, option: setting.variable, range: setting.range)
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
        guard unit != nil || !unitRequired, number.first != "+", let value = Double(number), value >= 0 else { return nil }
        let seconds = value * (unit ?? 1)
        return seconds.isFinite ? seconds : nil
    }

    /// The largest whole unit: `90d`, `12h`, `30m`, `45s`; fractions of a second as `0.5s`.
    static func text(_ seconds: TimeInterval) -> String {
        guard seconds.rounded(.down) == seconds else { return "\(seconds)s" }
        return Duration.seconds(Int64(min(seconds, longest))).compactText
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
