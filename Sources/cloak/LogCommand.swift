import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Show the audit log: who changed what, and every token fetched from the identity provider.",
        discussion: """
            Events are shown oldest first. Reading them needs no key (anyone who can read the vault \
            file can read them); --verify checks their MAC chain with the vault key first and, if it \
            is broken, prints nothing and exits 10 (`cloak doctor` checks it too). \
            --since takes an ISO-8601 time (2026-11-30T10:00:00Z, 2026-11-30) or an age (90s, 15m, 2h, 7d).

            Examples:
              cloak log --since 2h
              cloak log --client prod/orders --json
              cloak log --verify
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Option(help: ArgumentHelp("Only events about this client.", valueName: "realm/name")) var client: String?
    @Option(help: "Only events about this realm and its clients.", completion: Completion.realms) var realm: String?
    @Option(help: ArgumentHelp("Only events at or after this time.", valueName: "time")) var since: String?
    @Option(help: "Only the newest N events.") var limit: Int?
    @Flag(help: "Verify the log's MAC chain with the vault key before showing it.") var verify = false

    func run() throws {
        let client = try client.map { try ClientRef($0) }
        let realm = try realm.map { try Name($0, of: "realm name") }
        let since = try since.map { try TimeArgument.parse($0, now: Date()) }
        if let limit, limit < 1 { throw UsageError("--limit must be 1 or more.") }
        let events: [AuditEvent]
        if verify {
            let unlocked = try options.unlockVault()
            let audit = try unlocked.verifyAuditLog()
            guard audit.isIntact else {
                for problem in audit.problems { Terminal.error(problem.message) }
                if audit.unlistedProblems > 0 { Terminal.error("\(audit.unlistedProblems) more audit event(s) do not verify.") }
                Terminal.error("the audit log does not verify; `cloak doctor` shows the whole vault's state.")
                throw Reported.unhealthy
            }
            events = try unlocked.events(client: client, realm: realm, since: since, limit: limit)
            Terminal.note("the audit log verifies (\(audit.eventCount) event(s))")
        } else {
            events = try options.openVault().events(client: client, realm: realm, since: since, limit: limit)
        }
        if output.json { return Output.json(.array(events.map(JSON.init))) }
        Output.table(["SEQ", "TIME", "USER", "HOST", "ACTION", "SUBJECT", "OUTCOME", "DETAIL"], events.map { event in
            [String(event.seq), Output.time(event.time), event.user, event.host, event.action,
             event.clientRef?.description ?? event.realm?.rawValue ?? "-", event.outcome, event.detail.isEmpty ? "-" : event.detail]
        })
    }
}

extension JSON {
    /// An audit event in `--json` output. `client` is `REALM/NAME`, as the CLI names clients.
    init(_ event: AuditEvent) {
        self = .object([
            "seq": .number(event.seq),
            "time": .string(Output.time(event.time)),
            "user": .string(event.user),
            "host": .string(event.host),
            "command": .string(event.command),
            "action": .string(event.action),
            "realm": .optional(event.realm?.rawValue),
            "client": .optional(event.clientRef?.description),
            "outcome": .string(event.outcome),
            "detail": .string(event.detail),
        ])
    }
}

/// `--since`: an ISO-8601 time in UTC or with an offset, a date (midnight UTC), or an age.
enum TimeArgument {
    static func parse(_ text: String, now: Date) throws -> Date {
        if let age = age(text) { return now.addingTimeInterval(-(try Durations.check(age, option: "--since", range: 0...Durations.longest))) }
        if let date = iso8601(text) { return date }
        throw UsageError("'\(text.prefix(40))' is not a time: give an ISO-8601 time (2026-11-30T10:00:00Z, 2026-11-30T11:00:00+01:00, 2026-11-30) or an age (90s, 15m, 2h, 7d).")
    }

    /// `90s`, `15m`, `2h`, `7d`, `2w` in seconds.
    static func age(_ text: String) -> TimeInterval? { Durations.seconds(text, unitRequired: true) }

    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM[:SS[.fff]]` followed by `Z` or `±HH:MM`.
    static func iso8601(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[index..<index + digits] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
            }
            index += digits
            return value
        }
        func skip(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), skip("-"), let month = number(2), skip("-"), let day = number(2),
              (1...12).contains(month), (1...daysIn(month, of: year)).contains(day) else { return nil }
        var seconds = Double(daysFromCivil(year, month, day)) * 86_400
        if index == bytes.count { return Date(timeIntervalSince1970: seconds) }
        guard skip("T") || skip("t") || skip(" "), let hour = number(2), hour < 24, skip(":"), let minute = number(2), minute < 60 else { return nil }
        seconds += Double(hour * 3600 + minute * 60)
        if skip(":") {
            guard let second = number(2), second < 60 else { return nil }
            seconds += Double(second)
            if skip(".") || skip(",") {
                let start = index
                var fraction = 0.0, scale = 0.1
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
                    fraction += Double(bytes[index] - UInt8(ascii: "0")) * scale
                    scale /= 10
                    index += 1
                }
                guard index > start else { return nil }
                seconds += fraction
            }
        }
        if skip("Z") || skip("z") { return index == bytes.count ? Date(timeIntervalSince1970: seconds) : nil }
        let sign: Double
        if skip("+") { sign = 1 } else if skip("-") { sign = -1 } else { return nil }
        guard let offsetHours = number(2), offsetHours < 24 else { return nil }
        _ = skip(":")  // +01:00 or +0100
        guard let offsetMinutes = number(2), offsetMinutes < 60, index == bytes.count else { return nil }
        return Date(timeIntervalSince1970: seconds - sign * Double(offsetHours * 3600 + offsetMinutes * 60))
    }

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Howard Hinnant's days-from-civil: days since 1970-01-01 of a proleptic Gregorian date.
    private static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
