import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization

/// Replaces client secrets through the Keycloak admin API without ever losing one.
///
/// Each rotation is a journaled state machine (design.md, Rotation):
/// 1. **prepare** — a new secret is generated (or, for a rollback, the previous one taken) and
///    sealed as the *pending* version, with a journal row; committed before anything is sent;
/// 2. **push** — the client's representation is read and PUT back with the new `secret`
///    (or, `serverGenerated`, Keycloak makes one with `POST …/client-secret`, sealed on receipt);
/// 3. **verify** — a client-credentials request with the new secret must succeed; if the IdP
///    refuses it, the old secret is put back and the rotation fails loudly;
/// 4. **promote** — one transaction: pending → current, current → previous, cached tokens dropped.
///
/// A process killed anywhere leaves an open journal row. The next rotation of the client,
/// `resume`, or the next token fetch for it (`TokenBroker`) settles it by asking the IdP which
/// secret it accepts — pending: finish; current: undo — so the vault's current secret is always
/// one the IdP accepts, and no secret is dropped before that is known.
///
/// One rotation per client at a time, across processes: a `flock` per client in the vault's lock
/// folder (a second `cloak rotate` of the same client waits for the first, then sees its result).
public final class SecretRotator: Sendable {
    /// How rotations are done: who makes the secret, how long it is, how verify behaves.
    public struct Options: Sendable {
        /// Let Keycloak generate the secret (`POST …/client-secret`) instead of choosing it.
        public var serverGenerated = false
        /// Length of a secret we choose, in Keycloak's alphabet (A–Z a–z 0–9).
        public var secretLength = ClientSecret.defaultGeneratedLength
        /// After verify, end the old secret's dual validity at once (`DELETE …/client-secret/rotated`)
        /// when the realm's rotation policy kept it.
        public var invalidateRotated = false
        /// How often verify asks before it believes a refusal (a clustered Keycloak may take a
        /// moment to see the new secret on every node), and the pause between attempts.
        public var verifyAttempts = 3
        /// The pause between verify attempts.
        public var verifyPause: Duration = .milliseconds(250)
        /// How long to wait for another process rotating the same client.
        public var lockWait: Duration = .seconds(60)
        /// Told each `RotationStep` of each client as it happens, on the rotating task (in a bulk
        /// `run` on an SQLite vault, an event loop of the HTTP client): keep it short, never block.
        public var checkpoint: (@Sendable (RotationStep, ClientRef) -> Void)?
        /// What time it is for schedules (`run(.due, …)`).
        public var clock: @Sendable () -> Date = { Date() }

        /// The defaults: a secret of `ClientSecret.defaultGeneratedLength` characters chosen here,
        /// verified 3 times 250 ms apart, the old secret's dual validity left to the realm's policy.
        public init() {}
    }

    /// How one client's rotation ended.
    public struct Outcome: Sendable {
        /// How it ended. The raw values are what `cloak rotate --json` prints.
        public enum Result: String, Sendable {
            /// A new secret is current, at the IdP and in the vault.
            case rotated
            /// The previous secret is current again.
            case rolledBack = "rolled-back"
            /// An interrupted rotation was found and finished: its new secret is current.
            case finished
            /// An interrupted rotation was found and undone: the old secret stays current.
            case undone
            /// Nothing was needed (`resume` of a client without an interrupted rotation).
            case nothing
            /// Left to another process (`run(.due, …)`): it was rotating the client, or had
            /// rotated it since the client was found due.
            case skipped
        }

        /// The client rotated.
        public var client: ClientRef
        /// How its rotation ended.
        public var result: Result
        /// The secret version that was current before; `nil` when nothing was done.
        public var fromVersion: Int?
        /// The secret version the rotation made (current unless `undone`); `nil` when nothing was done.
        public var toVersion: Int?
        /// Anything the user should know (a kept dual-validity secret, an interrupted rotation found).
        public var notes: [String] = []
    }

    /// Fetches the admin client's tokens (and forgets a rotated client's); its vault and token
    /// client are the ones handed to `vault` and `settler` below.
    let broker: TokenBroker
    let vault: VaultAccess
    let settler: RotationSettler
    /// How this rotator's rotations are done.
    public let options: Options
    /// Batches the writes of concurrent rotations (a bulk run) into shared transactions.
    let commits = GroupCommit()

    /// A rotator that reads and writes through `broker`'s vault, gets its admin tokens and its
    /// verify requests from it, and shares its lock directory (so it takes turns with other
    /// processes rotating the same client).
    public init(broker: TokenBroker, options: Options = Options()) {
        self.broker = broker
        self.vault = broker.vault
        self.settler = RotationSettler(vault: broker.vault, client: broker.client, verifyAttempts: options.verifyAttempts,
                                       verifyPause: options.verifyPause)
        self.options = options
    }

    // MARK: Entry points

    /// Rotates `ref`'s secret. An interrupted rotation of it is settled first; if that one is
    /// finished, its new secret stands and no second rotation is made.
    /// - Throws: `RotationError` (admin refused, unknown at the IdP, failed and undone, unresolved),
    ///   `TokenError` (the IdP unreachable before anything changed), `VaultError`.
    public func rotate(_ ref: ClientRef) async throws -> Outcome {
        try await rotate(ref, admins: nil)
    }

    func rotate(_ ref: ClientRef, admins: AdminCache?) async throws -> Outcome {
        try await rotate(ref, admins: admins, onlyIfDue: false)
    }

    /// `rotate`, or — `onlyIfDue` — the schedule's rotation, for which a client is rotated by
    /// exactly one of many processes (agents on several hosts sharing a team vault): the client's
    /// lock is tried, never waited for (a holder is rotating it: skipped, like `FOR UPDATE SKIP
    /// LOCKED`), and, once held, the client must still be due (a process that held it just before
    /// may have rotated it: skipped). An interrupted rotation is settled either way.
    func rotate(_ ref: ClientRef, admins: AdminCache?, onlyIfDue: Bool) async throws -> Outcome {
        try await rotation(of: ref, admins: admins, waiting: !onlyIfDue) { settled, prelude in
            if let settled, settled.result == .finished { return settled }
            if onlyIfDue, try await !vault.run({ try $0.vault.rotationStatus(of: ref) }).isDue(at: options.clock()) {
                return settled ?? Outcome(client: ref, result: .skipped, notes: ["no longer due: another process rotated it"])
            }
            let mode: RotationJournal.Mode = options.serverGenerated ? .serverGenerated : .chosen
            let secret = options.serverGenerated ? nil : try ClientSecret.generated(length: options.secretLength)
            var outcome = try await perform(ref, mode: mode, secret: secret, prelude: prelude, admins: admins)
            if settled != nil { outcome.notes.insert("an interrupted rotation was found and undone first", at: 0) }
            return outcome
        }
    }

    /// Puts `ref`'s newest kept previous secret back, at the IdP and as its current secret.
    /// - Throws: `RotationError` (`.failed` when no previous secret is kept, or as `rotate(_:)`),
    ///   `TokenError`, `VaultError`.
    public func rollback(_ ref: ClientRef) async throws -> Outcome {
        try await rollback(ref, admins: nil)
    }

    func rollback(_ ref: ClientRef, admins: AdminCache?) async throws -> Outcome {
        try await rotation(of: ref, admins: admins) { _, prelude in
            guard let (previous, version) = try await vault.run({ try $0.newestPreviousSecret(of: ref) }) else {
                throw RotationError(.failed, ref, "\(ref) has no previous secret kept to roll back to (replaced secrets are kept for the realm's keep-previous period).", next: [.showRotationStatus])
            }
            var outcome = try await perform(ref, mode: .rollback, secret: previous, restoring: version, prelude: prelude, admins: admins)
            outcome.result = .rolledBack
            return outcome
        }
    }

    /// Settles an interrupted rotation of `ref`: `.finished`, `.undone`, or `.nothing`.
    /// - Throws: `RotationError.unresolved` when the IdP still cannot say which secret it holds;
    ///   `VaultError` (`.notFound` for an unknown client).
    public func resume(_ ref: ClientRef) async throws -> Outcome {
        try await resume(ref, admins: nil)
    }

    func resume(_ ref: ClientRef, admins: AdminCache?) async throws -> Outcome {
        try await rotation(of: ref, admins: admins) { settled, _ in settled ?? Outcome(client: ref, result: .nothing) }
    }

    /// Clients with an interrupted rotation.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func interrupted() async throws -> [ClientRef] {
        try await vault.run { try $0.openRotations().map(\.client) }
    }

    // MARK: The state machine

    /// What a rotation reads before it asks the IdP anything: the current secret (put back if
    /// the IdP refuses the new one) and what the IdP knows the client by.
    struct Prelude: Sendable {
        var clientRowID: Int64
        var current: ClientSecret
        var identity: (clientID: String, uuid: String?)
    }

    /// Holds `ref`'s rotation lock, settles any interrupted rotation, then runs `body`, with the
    /// prelude when nothing needed settling. The row check, the journal and the prelude are read
    /// in one visit to the vault (three, before).
    /// When not `waiting`, a lock held elsewhere makes the outcome `.skipped`, and `body` is not run.
    private func rotation(of ref: ClientRef, admins: AdminCache?, waiting: Bool = true,
                          _ body: (Outcome?, Prelude?) async throws -> Outcome) async throws -> Outcome {
        guard let lock = try await acquireLock(for: ref, waiting: waiting) else {
            return Outcome(client: ref, result: .skipped, notes: ["another process is rotating it"])
        }
        broker.rotating.withLock { _ = $0.insert(ref) }
        let result: Result<Outcome, any Error>
        do {
            // A forged journal row would otherwise retire or promote secrets: the row is checked first.
            let (journal, prelude) = try await vault.run { vault -> (RotationJournal?, Prelude?) in
                let rowID = try vault.requireAuthentic(ref)
                if let journal = try vault.openRotation(of: ref) { return (journal, nil) }
                return (nil, Prelude(clientRowID: rowID, current: try vault.openCurrentSecret(of: ref), identity: try vault.identityAtIdP(of: ref)))
            }
            var settled: Outcome?
            if let journal {
                settled = try await settler.settle(ref, journal: journal, admin: { try await self.admin(for: ref.realm, cache: admins) })
            }
            result = .success(try await body(settled, prelude))
        } catch {
            result = .failure(error)
        }
        broker.rotating.withLock { _ = $0.remove(ref) }
        _ = consume lock
        broker.forget(ref)
        return try result.get()
    }

    /// The admin API client for `realm`: from `cache` when a bulk run made one, so its rotations
    /// read and check the realm's settings once, not once per client.
    func admin(for realm: Name, cache: AdminCache?) async throws -> KeycloakAdmin {
        if let admin = cache?.admins.withLock({ $0[realm] }) { return admin }
        let admin = try await broker.admin(for: realm)
        cache?.admins.withLock { $0[realm] = admin }
        return admin
    }

    /// `ref`'s rotation lock; when not `waiting`, tried once (`nil`: another process holds it).
    private func acquireLock(for ref: ClientRef, waiting: Bool) async throws -> VaultLock? {
        let name = broker.rotationLockName(for: ref)
        guard waiting else { return try await broker.locks.acquire(name, until: .now) }
        guard let lock = try await broker.locks.acquire(name, until: .now + options.lockWait) else {
            throw VaultError(.busy, "another process has been rotating \(ref) for longer than \(options.lockWait); try again when it is done.")
        }
        return lock
    }
}
