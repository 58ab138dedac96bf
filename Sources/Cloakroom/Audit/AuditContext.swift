import Synchronization

/// Who and what is recorded with each audit event: the command, the operating-system user and
/// the host.
///
/// The command is a task-local value: the `cloak` CLI binds the command line as typed for its
/// whole run; a service binds what says which job is acting, for each job, and every event the
/// job's tasks write records it:
///
/// ```swift
/// try await AuditContext.$command.withValue("orders-sync nightly") {
///     _ = try await rotator.rotate(ClientRef("prod/orders"))
/// }
/// ```
public enum AuditContext {
    /// The longest command recorded; longer ones are cut and end in "…".
    public static let maximumCommandLength = 1024

    /// The command recorded with each event written by the current task and the tasks it starts;
    /// unbound (`nil`), the process's name. Control characters become spaces and the text is
    /// cut to `maximumCommandLength` bytes when an event is written.
    /// - Warning: record only what is safe to keep in clear: `cloak`'s arguments never hold a
    ///   secret, so its command line is safe; a library user's own text must be too.
    @TaskLocal public static var command: String?

    /// What an event written now records as its command.
    static var recordedCommand: String {
        command.map { clipped($0, to: maximumCommandLength) } ?? processName
    }

    /// `cloak` and its arguments as one line, each argument quoted for a POSIX shell when it needs it.
    /// Clipped already (see `command`), so that binding it costs each event nothing.
    public static func commandLine(_ arguments: [String]) -> String {
        clipped(arguments.map(quoted).joined(separator: " "), to: maximumCommandLength)
    }

    /// The effective user's name, or its uid when it has none (a container's arbitrary uid).
    static let user = clipped(FileSystem.userName, to: 256)

    static let host = clipped(FileSystem.hostName, to: 256)

    private static var processName: String {
        let path = CommandLine.arguments.first ?? "unknown"
        return clipped(String(path.split(separator: "/").last ?? "unknown"), to: maximumCommandLength)
    }

    private static func quoted(_ argument: String) -> String {
        let plain = !argument.isEmpty && argument.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                true
            default:
                "-_./=:,@%+".utf8.contains(byte)
            }
        }
        return plain ? argument : "'" + argument.replacing("'", with: #"'\''"#) + "'"
    }

    /// `text` without control characters, cut on a character boundary to at most `limit` UTF-8
    /// bytes (the last of which are then "…").
    ///
    /// Every audit event passes its command and detail through here, so the usual case (short,
    /// clean) returns at once, and a long text costs what its first `limit` bytes cost: a bulk
    /// `cloak rotate` of 1,000 clients has a 13 KB command line, and clipping it whole for each
    /// of its 4,000 events was a quarter of the run's CPU time.
    static func clipped(_ text: String, to limit: Int) -> String {
        if text.utf8.count <= limit, !text.containsControlCharacters { return text }
        // Only a prefix can matter: a control character becomes a space, at least half its length
        // (C1 controls take two bytes), so 2 × limit bytes of text give more than `limit` of result.
        var scalars = String.UnicodeScalarView()
        var taken = 0
        var truncated = false
        for scalar in text.unicodeScalars {
            if taken > 2 * limit + 8 {
                truncated = true
                break
            }
            taken += UTF8.width(scalar)
            scalars.append(scalar.isControlCharacter ? " " : scalar)
        }
        let mapped = String(scalars)
        guard truncated || mapped.utf8.count > limit else { return mapped }
        let ellipsis = "…"
        var kept = ""
        var bytes = ellipsis.utf8.count
        for character in mapped {
            bytes += character.utf8.count
            if bytes > limit { break }
            kept.append(character)
        }
        return kept + ellipsis
    }
}
