import CloakroomStore
import Synchronization

/// Group commit for the rotation's writes (prepare, 'pushed', promote): the writes of concurrent
/// rotations that arrive while one transaction is running are committed together in the next,
/// each in its own savepoint. Every rotation still has its journal row on disk before it sends
/// anything (a batch is durable when any write in it must be), but a bulk run pays one
/// `BEGIN … COMMIT`, one round of the WAL's locks and one copy of the pages they share (the audit
/// log's tail, the journal's) per batch instead of per write, and one `fsync` per durable batch.
final class GroupCommit: Sendable {
    /// One write waiting for the next batch.
    private struct Request: Sendable {
        var clientRowID: Int64
        var durable: Bool
        /// Runs the write in the batch's transaction, in its own savepoint (a write that fails
        /// undoes only itself), and returns what resumes its caller once the batch has committed
        /// (with the commit's error, if it failed).
        var perform: @Sendable (UnlockedVault) -> @Sendable ((any Error)?) -> Void
        /// Resumes the caller when the batch failed before its write ran.
        var fail: @Sendable (any Error) -> Void
    }

    private let state = Mutex<(waiting: [Request], committing: Bool)>(([], false))

    /// Runs `body` in the next batch's transaction; returns once that transaction has committed.
    /// - Parameter durable: whether the write must be on disk when this returns (`VaultStore.write(durable:…)`).
    /// - Parameter clientRowID: the client the write changes, as its caller read it: a batch locks
    ///   only its clients (`VaultStore.write(durable:clients:_:)`).
    /// - Throws: what `body` throws, or the batch's commit error (nothing of `body` was kept).
    func write<T: Sendable>(durable: Bool, clientRowID: Int64, in vault: VaultAccess,
                            _ body: @escaping @Sendable (UnlockedVault) throws -> T) async throws -> T {
        // The caller's `AuditContext.command`: its audit events record it, whoever commits.
        let command = AuditContext.command
        return try await withCheckedThrowingContinuation { continuation in
            let request = Request(clientRowID: clientRowID, durable: durable, perform: { vault in
                let result = Result {
                    try AuditContext.$command.withValue(command) { try vault.vault.store.write { try body(vault) } }
                }
                return { commitError in continuation.resume(with: commitError.map { .failure($0) } ?? result) }
            }, fail: { continuation.resume(throwing: $0) })
            let leads = state.withLock { state in
                state.waiting.append(request)
                defer { state.committing = true }
                return !state.committing
            }
            // The leader's batches run on the vault's own queue (never on a thread of the
            // cooperative pool); the others just wait for their continuation.
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
            var finish: [@Sendable ((any Error)?) -> Void] = []
            do {
                try vault.vault.store.write(durable: batch.contains { $0.durable }, clients: batch.map(\.clientRowID)) {
                    for request in batch { finish.append(request.perform(vault)) }
                }
                for resume in finish { resume(nil) }
            } catch {
                for resume in finish { resume(error) }
                for request in batch.dropFirst(finish.count) { request.fail(error) }
            }
        }
    }
}
