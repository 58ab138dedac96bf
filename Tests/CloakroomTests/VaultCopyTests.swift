import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom
@testable import CloakroomStore

/// `Vault.copy`: a whole vault moved between backends (SQLite → PostgreSQL, back, and to its own
/// kind), checked before it is committed, and nothing made when it does not check out.
@Suite struct VaultCopyTests {
    /// A vault with realms, clients, an open rotation (its pending secret sealed) and events.
    func source(_ backend: Backend) throws -> Fixture {
        let fixture = try Fixture(backend)
        try fixture.populate()
        _ = try fixture.vault.prepareRotation(of: ClientRef("prod/orders"), mode: .chosen, secret: ClientSecret("fake-orders-pending"))
        return fixture
    }

    @Test(arguments: Backend.all, Backend.all)
    func aCopyOpensWithTheSameKeyAndVerifiesAsTheOriginalDid(from: Backend, to: Backend) throws {
        let fixture = try source(from)
        let before = try fixture.contents()
        let elsewhere = TemporaryDirectory()
        let destination = to.location(in: elsewhere)

        let report = try fixture.vault.vault.copy(to: destination, credentials: [.keyFile(fixture.keyFile)])
        #expect(report.rows["clients"] == 2 && report.rows["realms"] == 1 && report.rows["keyslots"] == 1)
        #expect(report.rows["secret_versions"] == 3 && report.rows["rotations"] == 1)
        let events = try fixture.vault.verifyAuditLog().eventCount
        #expect(report.rows["events"] == events && events > 0)

        let copy = try Vault.open(at: destination).unlock(with: [.keyFile(fixture.keyFile)])
        #expect(copy.vault.vaultID == fixture.vault.vault.vaultID, "the same vault, in another place")
        #expect(try copy.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        #expect(try copy.currentSecret(of: ClientRef("prod/billing")).testValue == "fake-billing-secret")
        #expect(try copy.openRotation(of: ClientRef("prod/orders")) != nil, "the journal came along")
        let audit = try copy.verifyAuditLog()
        #expect(audit.isIntact && audit.eventCount == events)
        // New rows get ids after the copied ones (PostgreSQL's identity sequences were moved on).
        try copy.addClient(ClientRef("prod/shipping"), ClientSettings(clientID: "shipping-svc"), secret: ClientSecret("fake-shipping-secret"))
        #expect(try copy.currentSecret(of: ClientRef("prod/shipping")).testValue == "fake-shipping-secret")
        #expect(try copy.verifyAuditLog().isIntact)
        #expect(try fixture.contents() == before, "the source was not changed")
        #expect(Checkup.examine(path: destination, credentials: [.keyFile(fixture.keyFile)]).isHealthy)

        // A second copy to the same place is refused: it holds a vault now.
        #expect { _ = try fixture.vault.vault.copy(to: destination, credentials: [.keyFile(fixture.keyFile)]) } throws: {
            ($0 as? VaultError)?.code == .alreadyExists
        }
    }

    /// A client row changed behind cloak's back fails the copy's check: the copy is rolled back
    /// (no file, no vault in the schema), with the reason. A wrong key is refused before anything
    /// is made.
    @Test(arguments: Backend.all, Backend.all)
    func aCopyThatDoesNotCheckOutLeavesNothing(from: Backend, to: Backend) throws {
        let fixture = try source(from)
        let elsewhere = TemporaryDirectory()
        let destination = to.location(in: elsewhere)
        let stranger = try KeyFile.create(at: elsewhere.file("stranger.key"))
        #expect { _ = try fixture.vault.vault.copy(to: destination, credentials: [.keyFile(stranger)]) } throws: {
            ($0 as? VaultError)?.code == .cannotUnlock
        }
        try fixture.tamper("UPDATE clients SET client_id = 'someone-else' WHERE name = 'billing'")
        #expect { _ = try fixture.vault.vault.copy(to: destination, credentials: [.keyFile(fixture.keyFile)]) } throws: { error in
            let error = error as? VaultError
            return error?.code == .corrupted && error!.message.contains("nothing was written") && error!.message.contains("prod/billing")
        }
        #expect(!FileManager.default.fileExists(atPath: elsewhere.file("vault/vault.db")))
        #expect { _ = try Vault.open(at: destination) } throws: { ($0 as? VaultError)?.code == .notFound }
    }
}
