#if canImport(Dispatch)
import Dispatch
#endif

/// An unlocked vault used from async code without blocking Swift's cooperative thread pool.
///
/// The store is synchronous: a write that meets another process's write lock waits (SQLite's
/// busy timeout: up to 10 s), and so does the thread that called it. A thread of the cooperative
/// pool — as many as there are cores — must never wait like that: every task in the process
/// would stall behind it (with two cores, two waiting writers stop everything, the tasks that
/// would release the lock included). So every use runs on one serial dispatch queue of its own,
/// and the async caller suspends until its turn, leaving its thread to other tasks.
///
/// The queue also serialises the uses: the vault's connection and keys are never touched by two
/// threads at once, which is what the `Mutex` it replaces guaranteed.
///
/// A dispatch queue is not a task: task-local values do not cross to it by themselves. The one
/// that matters there, the audit log's `AuditContext.command`, is read on the caller's side and
/// bound again around each body.
final class VaultAccess: Sendable {
    private let queue = DispatchQueue(label: "cloakroom.vault")
    /// Touched only on `queue`.
    private nonisolated(unsafe) let vault: UnlockedVault

    init(_ vault: sending UnlockedVault) {
        self.vault = vault
    }

    /// Runs `body` with the vault on its queue; the caller suspends meanwhile.
    func run<T: Sendable>(_ body: @escaping @Sendable (UnlockedVault) throws -> T) async throws -> T {
        let command = AuditContext.command
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try AuditContext.$command.withValue(command) { try body(self.vault) } })
            }
        }
    }

    /// `run`, for a body that cannot fail.
    func run<T: Sendable>(_ body: @escaping @Sendable (UnlockedVault) -> T) async -> T {
        let command = AuditContext.command
        return await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: AuditContext.$command.withValue(command) { body(self.vault) }) }
        }
    }

    /// Runs `body` with the vault on its queue, later; nobody waits for it.
    func submit(_ body: @escaping @Sendable (UnlockedVault) -> Void) {
        let command = AuditContext.command
        queue.async { AuditContext.$command.withValue(command) { body(self.vault) } }
    }

    /// Runs `body` with the vault on its queue, blocking the calling thread until it is done:
    /// only for synchronous callers (the broker's synchronous cache read, and `defer` blocks).
    func blocking<T>(_ body: (UnlockedVault) throws -> T) rethrows -> T {
        let command = AuditContext.command
        return try queue.sync { try AuditContext.$command.withValue(command) { try body(vault) } }
    }
}
