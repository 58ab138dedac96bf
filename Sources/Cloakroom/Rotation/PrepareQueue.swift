import CloakroomStore
import Synchronization

/// Group commit for step 1: the prepares of concurrent rotations that arrive while one commit is
/// on its way to disk are committed together in the next, each in its own savepoint. Every
/// rotation still has its journal row on disk before it sends anything, but a bulk run pays one
/// fsync per batch instead of one per client (6.5 ms each on this machine's disk).
final class PrepareQueue: Sendable {
    private struct Request: Sendable {
        var ref: ClientRef
        var clientRowID: Int64
        var mode: RotationJournal.Mode
        var secret: ClientSecret?
        /// The caller's `AuditContext.command`: its journal event records it, whoever commits.
        var command: String?
        var continuation: CheckedContinuation<Prepared, any Error>
    }

    private let state = Mutex<(waiting: [Request], committing: Bool)>(([], false))

    /// The journal and, when the secret was chosen here, the pending secret with the request
    /// that will verify it, made in the same transaction from the row it checked.
    typealias Prepared = (journal: RotationJournal, chosen: (pending: PendingSecret, verification: TokenRequest)?)

    /// - Parameter clientRowID: `ref`'s row, as the rotation read it: a batch locks only its clients.
    func prepare(_ ref: ClientRef, clientRowID: Int64, mode: RotationJournal.Mode, secret: ClientSecret?, in vault: VaultAccess) async throws
        -> Prepared {
        try await withCheckedThrowingContinuation { continuation in
            let leads = state.withLock { state in
                state.waiting.append(Request(ref: ref, clientRowID: clientRowID, mode: mode, secret: secret, command: AuditContext.command, continuation: continuation))
                defer { state.committing = true }
                return !state.committing
            }
            // The leader's commits run on the vault's own queue (never on a thread of the
            // cooperative pool); followers just wait for their continuation.
            if leads { vault.submit { self.commitWaiting(in: $0) } }
        }
    }

    /// Commits batches until nobody is waiting. On the vault's queue.
    private func commitWaiting(in vault: UnlockedVault) {
        while true {
            let batch = state.withLock { state in
                defer { state.waiting = [] }
                if state.waiting.isEmpty { state.committing = false }
                return state.waiting
            }
            guard !batch.isEmpty else { return }
            let results: [Result<Prepared, any Error>]
            do {
                results = try vault.vault.store.write(durable: true, clients: batch.map(\.clientRowID)) {
                    batch.map { request in
                        Result {
                            try AuditContext.$command.withValue(request.command) {
                                // One savepoint: a request that cannot be made undoes its prepare.
                                try vault.vault.store.write {
                                    let (journal, pending) = try vault.prepareRotation(of: request.ref, clientRowID: request.clientRowID, mode: request.mode,
                                                                               secret: request.secret)
                                    return (journal, try pending.map { ($0, try vault.verificationRequest(for: request.ref, with: $0)) })
                                }
                            }
                        }
                    }
                }
            } catch {
                results = batch.map { _ in .failure(error) }
            }
            for (request, result) in zip(batch, results) { request.continuation.resume(with: result) }
        }
    }
}
