public import Cloakroom
import Synchronization
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Rotates, in the agent's background, the clients whose schedule is due (their own
/// `--rotate-every`, else their realm's), with the rotator's journal and settling: a rotation the
/// agent's death interrupts is settled by the next rotation, token fetch or agent.
///
/// Once a `checkEvery`, the due clients (and any with an interrupted rotation) are rotated, at
/// most `parallel` at once and `perRealm` in one realm, after a random pause of up to `jitter`
/// (agents of a shared vault, started together, do not all go at once). A client whose rotation
/// fails is tried again after 1 minute, then 2, 4, … up to 6 hours.
public final class RotationScheduler: Sendable {
    /// How the scheduler paces itself.
    public struct Settings: Sendable {
        /// How often it looks for due clients.
        public var checkEvery: Duration = .seconds(60)
        /// The longest random pause before a round of rotations.
        public var jitter: Duration = .seconds(30)
        /// Rotations at once, in all, and in any one realm.
        public var parallel = 4
        /// Rotations at once in any one realm.
        public var perRealm = 2
        /// The defaults: every minute, up to 30 s of jitter, 4 at once, 2 per realm.
        public init() {}
    }

    private let rotator: SecretRotator
    private let broker: TokenBroker
    private let settings: Settings
    private let report: @Sendable (AgentEvent) -> Void
    /// Clients whose last rotation failed: when to try again, and how many failed in a row.
    private let backoff = Mutex<[ClientRef: (until: ContinuousClock.Instant, failures: Int)]>([:])

    /// A scheduler rotating with `rotator` (whose broker is `broker`, and whose `Options.clock`
    /// says what time it is for the schedule); `report` is told each start, finish, skip and failure.
    public init(rotator: SecretRotator, broker: TokenBroker, settings: Settings = Settings(),
                report: @escaping @Sendable (AgentEvent) -> Void) {
        (self.rotator, self.broker, self.settings, self.report) = (rotator, broker, settings, report)
    }

    private let stopping = Atomic<Bool>(false)
    private let inRound = Atomic<Bool>(false)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// Starts looking at the schedule, now and every `checkEvery`.
    public func start() {
        let task = Task { [self] in
            while !stopping.load(ordering: .relaxed) {
                await round()
                try? await Task.sleep(for: settings.checkEvery)
            }
        }
        self.task.withLock { $0 = task }
    }

    /// Stops: a round under way is finished first (its rotations end as they would; the journal
    /// would settle one cut short, but a finished one needs nothing), then no other begins.
    public func stop() async {
        stopping.store(true, ordering: .relaxed)
        guard let task = task.withLock({ $0 }) else { return }
        if !inRound.load(ordering: .relaxed) { task.cancel() }
        await task.value
    }

    /// One look at the schedule, and the rotations it calls for.
    func round() async {
        guard !stopping.load(ordering: .relaxed) else { return }
        inRound.store(true, ordering: .relaxed)
        defer { inRound.store(false, ordering: .relaxed) }
        guard let statuses = try? await broker.withVault({ try $0.vault.rotationStatus() }) else { return }
        let now = rotator.options.clock(), instant = ContinuousClock.now
        let waiting = backoff.withLock { $0 }
        let due = statuses.filter { status in
            guard status.isDue(at: now) || status.hasOpenRotation else { return false }
            return waiting[status.client].map { $0.until <= instant } ?? true
        }
        guard !due.isEmpty else { return }
        let pause = Double.random(in: 0...max(0, Double(settings.jitter.components.seconds)))
        try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
        if stopping.load(ordering: .relaxed) { return }
        for status in due where !status.hasOpenRotation { report(AgentEvent(.rotationStarted, status.client)) }
        // `.due` settles an interrupted rotation, and rotates a client only while it is due: each
        // client is rotated by one agent of a shared vault, whichever takes its lock first; the
        // others skip it. Shuffled, so that agents starting together mostly go different ways.
        let clients = due.map(\.client).shuffled()
        guard let reports = try? await rotator.run(.due, on: clients, parallel: settings.parallel, perRealm: settings.perRealm) else { return }
        for report in reports { record(report) }
    }

    private func record(_ entry: SecretRotator.Report) {
        switch entry.result {
        case .success(let outcome):
            _ = backoff.withLock { $0.removeValue(forKey: entry.client) }
            if outcome.result == .rotated || outcome.result == .finished {
                report(AgentEvent(.rotationFinished, entry.client, secretVersion: outcome.toVersion))
            } else if outcome.result == .skipped {
                report(AgentEvent(.rotationSkipped, entry.client))
            }
        case .failure(let error):
            let failures = backoff.withLock { table in
                let failures = (table[entry.client]?.failures ?? 0) + 1
                let wait = min(60 << min(failures - 1, 9), 6 * 3600)
                table[entry.client] = (ContinuousClock.now + .seconds(wait), failures)
                return failures
            }
            let code = (error as? any CloakroomError)?.code.rawValue ?? "internal"
            report(AgentEvent(.rotationFailed, entry.client, code: code))
            _ = failures
        }
    }
}
