/// What verifying the audit log's MAC chain found.
///
/// Each event's MAC covers the previous event's MAC and every field of its own, under a subkey of
/// the vault key; the head (count and last MAC, MAC'd too) covers the end. So without the key,
/// an edited, deleted, reordered or appended event, and a log cut short, all show here.
public struct AuditVerification: Sendable {
    /// One way the log differs from what cloak wrote.
    public struct Problem: Sendable, Equatable, CustomStringConvertible {
        /// The ways a log can differ from what cloak wrote; the raw values are what `cloak log --verify
        /// --json` and `cloak doctor` print.
        public enum Kind: String, Sendable {
            /// The event's fields or MAC were changed after it was written (or events were reordered).
            case altered
            /// Events are gone from the middle of the log.
            case missing
            /// Events are gone from the end of the log: the head records more than there are.
            case truncated
            /// The head itself was changed.
            case headAltered = "head-altered"
            /// The head does not describe the last event (events added or replaced outside cloak).
            case headMismatch = "head-mismatch"
            /// Events exist but the head does not: a cut at the end would go unnoticed.
            case headMissing = "head-missing"
        }

        /// What kind of difference it is.
        public var kind: Kind
        /// The events concerned: one for `altered`, the gone ones for `missing` and `truncated`.
        public var events: ClosedRange<Int64>?
        /// What was found and what to do, naming the event's seq, time and action as stored.
        public var message: String
        /// The same as `message`.
        public var description: String { message }
    }

    /// Events present in the log.
    public var eventCount: Int
    /// The highest seq present (0 when the log is empty).
    public var lastSeq: Int64
    /// The first problems found, in log order (at most `listedProblemLimit`).
    public var problems: [Problem]
    /// Problems found beyond the listed ones (a renumbered log breaks every later event).
    public var unlistedProblems: Int
    /// Whether the log has a head. A vault from before the audit log has none until its first event.
    public var hasHead: Bool

    /// The chain verifies from the first event to the head.
    public var isIntact: Bool { problems.isEmpty }

    /// How many problems are listed; the rest are counted in `unlistedProblems`.
    public static let listedProblemLimit = 50
}
