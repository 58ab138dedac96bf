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
        /// Told each `RotationStep` of each client as it happens (on the rotating task: keep it short).
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
    private let commits = GroupCommit()

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
    private func admin(for realm: Name, cache: AdminCache?) async throws -> KeycloakAdmin {
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

    /// Prepare, push, verify, promote, with `secret` (nil: server-generated).
    private func perform(_ ref: ClientRef, mode: RotationJournal.Mode, secret: ClientSecret?, restoring restoredVersion: Int? = nil,
                         prelude: Prelude?, admins: AdminCache?) async throws -> Outcome {
        let admin: KeycloakAdmin, uuid: String, representation: ClientRepresentation, current: ClientSecret, learned: Bool
        let known: (clientID: String, uuid: String?), clientRowID: Int64
        do {
            // Read with the lock's first visit, unless a settle changed things since: then one
            // visit of its own (`currentSecret` checks the client's row first).
            if let prelude {
                (clientRowID, current, known) = (prelude.clientRowID, prelude.current, prelude.identity)
            } else {
                (clientRowID, current, known) = try await vault.run { vault in
                    (try vault.requireAuthentic(ref), try vault.openCurrentSecret(of: ref), try vault.identityAtIdP(of: ref))
                }
            }
            admin = try await self.admin(for: ref.realm, cache: admins)
        } catch {
            // Nothing was journaled, but the attempt belongs in the audit log.
            let detail = "\(error)"
            await vault.run { _ = $0.recordIfPossible(.rotationFailed, realm: ref.realm, client: ref.name, outcome: .failed, detail: detail) }
            throw error
        }

        // 1. prepare, while the IdP is asked where the client is: the prepare's commit (and its
        // fsync) overlaps the lookups, which change nothing at the IdP. Nothing is sent that
        // could change anything before both are done.
        async let preparing = commits.write(durable: true, clientRowID: clientRowID, in: vault) { vault in
            // The verify request is made in the same transaction, from the row the prepare checked.
            let (journal, pending) = try vault.prepareRotation(of: ref, clientRowID: clientRowID, mode: mode, secret: secret)
            return (journal, try pending.map { ($0, try vault.verificationRequest(for: ref, with: $0)) })
        }
        do {
            let located = try await settler.locate(ref, clientID: known.clientID, knownUUID: known.uuid, admin: admin)
            (uuid, representation, learned) = (located.uuid, located.representation, located.learned)
        } catch {
            // Nothing was sent; a journal prepared meanwhile is closed as failed (which records
            // the attempt), else the attempt is recorded on its own.
            let detail = "\(error)"
            if let (journal, _) = try? await preparing {
                try? await vault.run { try $0.abandon(journal, as: .failed, detail: detail) }
            } else {
                await vault.run { _ = $0.recordIfPossible(.rotationFailed, realm: ref.realm, client: ref.name, outcome: .failed, detail: detail) }
            }
            throw error
        }
        let (journal, chosen) = try await preparing
        options.checkpoint?(.prepared, ref)

        // From the push on, the IdP may hold the new secret: whatever fails after it (a full disk
        // while journaling, a vault error while promoting, the IdP going away) leaves both
        // secrets kept and the journal open, so it is exit 17 and `--resume`, never "nothing
        // was changed" — that once sent a user to retry while Keycloak held a secret the vault
        // had not recorded as pushed.
        do {
            return try await push(ref, mode: mode, journal: journal, prepared: chosen, admin: admin, uuid: uuid,
                                  representation: representation, current: current, restoring: restoredVersion,
                                  rememberingIdPUUID: learned ? uuid : nil)
        } catch let error as RotationError {
            throw error
        } catch let error as TokenError {
            throw RotationError(.unresolved, ref, "the rotation of \(ref) could not be finished after its new secret was pushed (\(error)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
        } catch {
            throw RotationError(.unresolved, ref, "the rotation of \(ref) could not be finished after its new secret was pushed: \(error) Both secrets are kept until the rotation is settled, once that is fixed.",
                                next: ((error as? any CloakroomError)?.next ?? []) + [.resumeRotation(ref)])
        }
    }

    /// Steps 2 to 4, once step 1 is committed. Any error it throws other than a `RotationError`
    /// means the IdP may hold the new secret.
    ///
    /// `prepared` is the chosen secret and the request that verifies it; `nil` when the IdP
    /// generates the secret. `idpUUID` is remembered with the journal's step to 'pushed'.
    private func push(_ ref: ClientRef, mode: RotationJournal.Mode, journal: RotationJournal, prepared: (PendingSecret, TokenRequest)?,
                      admin: KeycloakAdmin, uuid: String, representation: ClientRepresentation, current: ClientSecret,
                      restoring restoredVersion: Int?, rememberingIdPUUID idpUUID: String?) async throws -> Outcome {
        // 2. push. The client's row is checked before each step, not only at the start: the file
        // may change meanwhile. Prepare checked it in its transaction, just now; each step
        // below checks it in its own.
        let verification: TokenRequest
        do {
            if let (prepared, request) = prepared {
                try await admin.update(uuid, representation, secret: prepared.secret)
                options.checkpoint?(.sent, ref)
                // Made by the prepare, in its transaction, from the row it checked.
                verification = request
            } else {
                let generated = try await admin.regenerateSecret(of: uuid)
                options.checkpoint?(.generated, ref)
                // Sealed and committed in the step that received it. A crash before this commit
                // leaves Keycloak with a secret we never stored: settle() reads it back with
                // `GET …/client-secret` (and so needs the admin client; the token path cannot).
                verification = try await vault.run { [journal] vault in
                    guard let received = try vault.advance(journal, to: .pushed, received: generated, rememberingIdPUUID: idpUUID) else {
                        preconditionFailure("advance(received:) returns the pending secret it sealed")
                    }
                    return try vault.verificationRequest(for: ref, with: received)
                }
            }
        } catch let error as RotationError {
            // Refused before anything changed at the IdP: nothing to undo there.
            try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: error.message) }
            throw RotationError(error.kind, ref, error.message + " Nothing was changed; \(ref) keeps its secret.", next: error.next)
        } catch let error as TokenError {
            guard case .unavailable = error else {
                let detail = "\(error)"
                try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: detail) }
                throw error
            }
            // The push may or may not have arrived: ask the IdP which secret it accepts.
            if let outcome = try await settler.settle(ref, admin: { admin }) , outcome.result == .finished {
                return Outcome(client: ref, result: .rotated, fromVersion: journal.fromVersion, toVersion: journal.toVersion,
                               notes: ["the push timed out but had arrived"])
            }
            throw RotationError(.failed, ref, "the new secret of \(ref) could not be pushed: \(error) The old secret stays current.")
        }
        // 3. verify. A chosen secret's step to 'pushed' is written while the IdP is asked (the
        // row checked again in that transaction); it needs no fsync, since settling redoes it from
        // 'prepared', and verifying sends nothing the prepare did not check.
        let verdict: RotationSettler.Verification
        if prepared != nil {
            async let marked: Void = commits.write(durable: false, clientRowID: journal.clientRowID, in: vault) { [journal] vault in
                _ = try vault.advance(journal, to: .pushed, rememberingIdPUUID: idpUUID)
            }
            verdict = await settler.verify(verification)
            try await marked
        } else {
            verdict = await settler.verify(verification)
        }
        options.checkpoint?(.pushed, ref)
        switch verdict {
        case .accepted:
            break
        case .unreachable(let problem):
            throw RotationError(.unresolved, ref, "the new secret of \(ref) was pushed, but the IdP could not be asked whether it accepts it (\(problem)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
        case .rejected(let problem):
            // Put the old secret back, and check that it works again before saying so.
            do {
                if mode != .serverGenerated {
                    try await admin.update(uuid, representation, secret: current)
                } else {
                    throw RotationError(.unresolved, ref, "Keycloak generated a secret it then refused")
                }
                guard case .accepted = await settler.verifyCurrent(ref) else { throw RotationError(.unresolved, ref, "the old secret is not accepted either") }
            } catch {
                throw RotationError(.unresolved, ref, "the IdP refused the new secret of \(ref) (\(problem)), and putting the old one back failed (\(error)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
            }
            try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: "the IdP refused the new secret: \(problem)") }
            throw RotationError(.failed, ref, "the IdP refused the new secret of \(ref) (\(problem)); the old secret was put back, is accepted again, and stays current.", next: [.letIdPGenerateSecret])
        }
        // No journal write here: a crash before promote commits leaves the journal at 'pushed',
        // and settling asks the IdP again, which accepts the pending secret: the same outcome.
        options.checkpoint?(.verified, ref)

        // 4. promote
        var notes: [String] = []
        // Whether Keycloak's dual-secret policy kept the old secret shows in the representation
        // after the change; read it again only where that policy can be at work (its executor
        // stamps `client.secret.expiration.time`), or when asked to end the dual validity.
        let policyMayApply = mode == .serverGenerated || options.invalidateRotated || representation.hasSecretExpiration
        if policyMayApply, let refreshed = try? await admin.representation(of: uuid), refreshed.hasRotatedSecret {
            if options.invalidateRotated {
                try await admin.invalidateRotatedSecret(of: uuid)
                notes.append("the old secret's dual validity was ended at the IdP")
            } else {
                notes.append("the realm's secret-rotation policy keeps the old secret valid at the IdP for its grace period")
            }
        }
        try await commits.write(durable: false, clientRowID: journal.clientRowID, in: vault) { [journal, notes] vault in
            try vault.promote(journal, detail: notes.joined(separator: "; "), retiring: restoredVersion)
        }
        return Outcome(client: ref, result: .rotated, fromVersion: journal.fromVersion, toVersion: journal.toVersion, notes: notes)
    }
}
