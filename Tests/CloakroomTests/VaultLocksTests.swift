import CloakroomStore
import Foundation
import Testing
@testable import Cloakroom

/// The SQLite vault's locks: one per name, shared by every holder — another task of this
/// process as much as another process — and one file for all of them.
@Suite struct VaultLocksTests {
    @Test(arguments: Backend.all) func aLockExcludesEveryOtherHolderOfItsNameOnly(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        let locks = fixture.vault.vault.store.locks
        try locks.prepare()
        guard let first = try await locks.acquire("rotate-a", until: .now + .seconds(5)) else {
            Issue.record("a free lock was not taken")
            return
        }
        // The same name, from this process: refused until the deadline.
        let again = try await locks.acquire("rotate-a", until: .now + .milliseconds(150)) != nil
        #expect(!again, "a held lock was taken twice")
        // Another name is free.
        let other = try await locks.acquire("rotate-b", until: .now + .milliseconds(150)) != nil
        #expect(other)
        // Released, it can be taken again; a waiter gets it as soon as it is released.
        async let waiter = locks.acquire("rotate-a", until: .now + .seconds(5)) != nil
        try await Task.sleep(for: .milliseconds(100))
        _ = consume first
        #expect(try await waiter)
    }

    /// Lock files used to be one per name, created on first use and never deleted: a vault's
    /// lock directory grew with every client and token key, and creating them was a quarter of a
    /// bulk rotation's CPU time. Now every lock is a byte of one file.
    @Test func everyLockLivesInOneFile() async throws {
        let fixture = try Fixture()
        let locks = fixture.vault.vault.store.locks
        try locks.prepare()
        for index in 0..<50 {
            let taken = try await locks.acquire("token-\(index)", until: .now + .seconds(5)) != nil
            #expect(taken)
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture.path + ".locks")
        #if os(Linux)
        #expect(files == ["vault.lock"])
        #else
        #expect(files.count == 50)
        #endif
    }
}
