import CloakroomHTTP
import CloakroomStore
import Synchronization

extension SecretRotator {
    /// What `run` does to each client.
    public enum Action: String, Sendable {
        /// `rotate`: a new secret; `rollback`: the newest kept previous secret back; `resume`: finish
        /// or undo an interrupted rotation; `due`: the schedule's — settle an interrupted rotation,
        /// then a new secret if the client is still due (by `Options.clock`), skipping a client
        /// another process is rotating, so that several processes given the same due clients
        /// rotate each exactly once.
        case rotate, rollback, resume, due
    }

    /// One client's line in a bulk report.
    public struct Report: Sendable {
        /// The client.
        public var client: ClientRef
        /// How its rotation ended, or the error that stopped it (a `RotationError`, `TokenError`
        /// or `VaultError`): one failure never stops the others.
        public var result: Result<Outcome, any Error>
        /// Wall time of this client's rotation.
        public var duration: Duration
    }

    /// Runs `action` on every client of `refs`, at most `parallel` at once and `perRealm` at once
    /// in any one realm (an IdP's realms often share one server), each to its end: one failure
    /// never stops the others. Clients that are some realm's admin client go last, one at a time,
    /// so no other rotation needs an admin token while that token's own secret is changing.
    /// - Parameter action: rotate, roll back or resume each client.
    /// - Parameter refs: the clients.
    /// - Parameter parallel: how many clients at once, at most (at least 1).
    /// - Parameter perRealm: how many clients of one realm at once, at most (at least 1).
    /// - Parameter progress: called after each client with (done, total, failed). On an SQLite
    ///   vault it runs on an event loop of the HTTP client, as the rotations do: keep it short,
    ///   and never block in it.
    /// - Returns: a report per client, in the order of `refs`.
    /// - Throws: `VaultError` only when the vault cannot be read before any rotation starts; each
    ///   client's own failure is in its report.
    public func run(
        _ action: Action, on refs: [ClientRef], parallel: Int = 4, perRealm: Int = 4,
        progress: @escaping @Sendable (_ done: Int, _ total: Int, _ failed: Int) -> Void = { _, _, _ in }
    ) async throws -> [Report] {
        let adminClients = Set(try await vault.run { try $0.vault.realms().compactMap(\.adminClient) })
        // Thousands of small transactions: checkpoint once at the end rather than after each.
        await vault.run { $0.vault.store.beginBulkWrites() }
        let adminCache = AdminCache()
        let parallel = max(1, parallel)
        let perRealm = max(1, perRealm)
        var reports: [ClientRef: Report] = [:]
        var failed = 0
        let (others, admins) = Self.phases(of: refs, adminClients: adminClients)
        // The rotations mostly wait for HTTP answers and the vault's queue. On the event loop
        // that reads the answers, each one resumes where it arrived, not in the cooperative
        // pool, which on two cores took half of cloak's 24 context switches per rotation and
        // 15 % of its CPU time (README, Performance). Not with PostgreSQL's locks, whose
        // release blocks until an event loop brings the server's answer.
        let executor = broker.locks.releaseWaitsForAnEventLoop ? nil : EventLoopExecutor()
        await withTaskExecutorPreference(executor) {
            for (phase, limit) in [(others, parallel), (admins, 1)] {
                var queue = phase[...]
                var running: [Name: Int] = [:]
                await withTaskGroup(of: Report.self) { group in
                    var active = 0
                    func startNext(_ group: inout TaskGroup<Report>) -> Bool {
                        guard let index = queue.firstIndex(where: { running[$0.realm, default: 0] < perRealm }) else { return false }
                        let ref = queue.remove(at: index)
                        running[ref.realm, default: 0] += 1
                        group.addTask {
                            let start = ContinuousClock.now
                            do {
                                let outcome = switch action {
                                case .rotate: try await self.rotate(ref, admins: adminCache)
                                case .rollback: try await self.rollback(ref, admins: adminCache)
                                case .resume: try await self.resume(ref, admins: adminCache)
                                case .due: try await self.rotate(ref, admins: adminCache, onlyIfDue: true)
                                }
                                return Report(client: ref, result: .success(outcome), duration: .now - start)
                            } catch {
                                return Report(client: ref, result: .failure(error), duration: .now - start)
                            }
                        }
                        return true
                    }
                    while active < limit, startNext(&group) { active += 1 }
                    for await report in group {
                        active -= 1
                        running[report.client.realm, default: 1] -= 1
                        if case .failure = report.result { failed += 1 }
                        reports[report.client] = report
                        progress(reports.count, refs.count, failed)
                        while active < limit, startNext(&group) { active += 1 }
                    }
                }
            }
        }
        await vault.run { $0.vault.store.endBulkWrites() }
        return refs.compactMap { reports[$0] }
    }
}

extension SecretRotator {
    /// The order `run` takes `refs` in: every client that is no realm's admin client (in the
    /// order given, up to `parallel` at once), then the admin clients, one at a time. What a dry
    /// run shows.
    public static func order(of refs: [ClientRef], adminClients: Set<ClientRef>) -> [ClientRef] {
        let (others, admins) = phases(of: refs, adminClients: adminClients)
        return others + admins
    }

    static func phases(of refs: [ClientRef], adminClients: Set<ClientRef>) -> (others: [ClientRef], admins: [ClientRef]) {
        (refs.filter { !adminClients.contains($0) }, refs.filter { adminClients.contains($0) })
    }
}

/// The admin API clients of one bulk run, by realm: a realm's settings are read and their trust
/// checked once per run instead of once per client. Dropped when the run ends, so a long-lived
/// rotator sees a changed admin URL or admin client at its next run.
final class AdminCache: Sendable {
    let admins = Mutex<[Name: KeycloakAdmin]>([:])
}
