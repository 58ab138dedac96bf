import CloakroomTestSupport
import Foundation
import Synchronization
import Testing
@testable import Cloakroom

/// The store is synchronous and a write waits for another process's lock: those waits must
/// happen off Swift's cooperative pool, or a few waiting writers stall every task in the process.
@Suite struct VaultAccessTests {
    @Test func writersWaitingForAnotherProcessesLockLeaveTheCooperativePoolFree() async throws {
        let directory = TemporaryDirectory()
        let keyFile = try KeyFile.create(at: directory.file("key"))
        let path = directory.file("vault.db")
        _ = try Vault.create(at: path, firstKeyslot: .keyFile(keyFile))
        // Writers wait up to 20 s for the lock: long enough that, were they blocking pool
        // threads, the task below could not run before they gave up and failed.
        let vault = try Vault.open(at: path, busyTimeout: .seconds(20)).unlock(with: [.keyFile(keyFile)])
        let access = VaultAccess(vault)
        // More writers than the pool has threads (one per core).
        let writers = ProcessInfo.processInfo.activeProcessorCount + 2
        let started = Counter()

        let results = try await RawVault.holdingWriteLock(path) {
            let tasks = (0..<writers).map { index in
                Task {
                    started.increment()
                    return try await access.run { try $0.record(.keyslotAdded, detail: "writer \(index)") }
                }
            }
            while started.value < writers { await Task.yield() }
            // Every writer has asked for the vault, and the first is waiting for our lock. A task
            // on the pool must still run now, while the lock is held...
            let poolIsFree = await Task.detached { true }.value
            #expect(poolIsFree)
            return tasks
        }
        // ...and once the lock is released (when the body above returned), every writer lands.
        for task in results { try await task.value }
        let events = try Vault.open(at: path).events().filter { $0.detail.hasPrefix("writer ") }
        #expect(events.count == writers)
    }
}

extension VaultAccessTests {
    /// The audit context is task-local, and crosses to the vault's queue with each use: every
    /// event records the command of the task that wrote it, however many run at once.
    @Test func eachTaskRecordsItsOwnCommand() async throws {
        let fixture = try Fixture()
        let access = VaultAccess(try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in 0..<16 {
                group.addTask {
                    try await AuditContext.$command.withValue("job \(job)") {
                        try await access.run { try $0.record(.keyslotAdded, detail: "by job \(job)") }
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = try Vault.open(at: fixture.path).events().filter { $0.detail.hasPrefix("by job ") }
        #expect(events.count == 16)
        #expect(events.allSatisfy { $0.command == "job " + $0.detail.dropFirst("by job ".count) })
    }
}

private final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}
