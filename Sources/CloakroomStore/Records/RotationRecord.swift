/// One row of the rotation journal.
package struct RotationRecord: Sendable {
    package var id: Int64
    package var realm: String
    package var client: String
    package var clientRowID: Int64
    package var fromVersion: Int64
    package var toVersion: Int64
    package var mode: String
    package var state: String
    /// Unix seconds.
    package var startedAt: Int64
}

/// A client's rotation settings and history.
package struct RotationStatusRecord: Sendable {
    package var realm: String
    package var client: String
    /// The client's schedule, else its realm's (seconds).
    package var rotateEvery: Int64?
    /// Whether `rotateEvery` is the realm's.
    package var scheduleFromRealm: Bool
    package var secretChangedAt: Int64?
    package var secretVersion: Int64?
    package var previousVersions: [Int64]
    package var hasOpenRotation: Bool
}
