import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct VaultTests {
    /// A write inside a write is a savepoint: its failure undoes only its own part, and the
    /// outer write goes on and commits (on PostgreSQL as on SQLite: found sending the rollback
    /// as one script, which PostgreSQL refuses, leaving the outer transaction aborted).
    @Test(arguments: Backend.all) func aFailedInnerWriteUndoesOnlyItself(backend: Backend) throws {
        struct Refused: Error {}
        let fixture = try Fixture(backend)
        let store = fixture.vault.vault.store
        let settings = RealmSettingsRecord(issuer: nil, tokenURL: Fixture.tokenURL, adminURL: nil, caFile: nil, adminClientRowID: nil,
                                           allowsInsecureHTTP: false)
        try store.write {
            _ = try store.realms.insert(name: "kept", settings, keepPrevious: nil, at: 0)
            #expect(throws: Refused.self) {
                try store.write {
                    _ = try store.realms.insert(name: "undone", settings, keepPrevious: nil, at: 0)
                    throw Refused()
                }
            }
            _ = try store.realms.insert(name: "after", settings, keepPrevious: nil, at: 0)
        }
        #expect(try store.realms.all().map(\.name) == ["after", "kept"])
    }

    /// A cost that unlocking would take for a tampered keyslot is refused when the slot is made,
    /// before any Argon2id run: the vault would otherwise report itself as altered.
    @Test func aKeyslotCostUnlockingWouldRefuseIsRefusedUpFront() throws {
        #expect { _ = try NewKeyslot.passphrase(Passphrase("fake passphrase for tests"), cost: Argon2Parameters(opsLimit: 65, memLimit: 8 << 20)) } throws: {
            ($0 as? VaultError)?.code == .invalidInput && "\($0)".contains("65 passes")
        }
    }

    @Test func newVaultIsPrivate() throws {
        let fixture = try Fixture()
        #expect(FileSystem.status(of: fixture.path)?.mode == 0o600)
        #expect(FileSystem.status(of: fixture.directory.file("vault"))?.mode == 0o700)
        #expect(FileSystem.status(of: fixture.keyFile.path)?.mode == 0o600)
        #expect(FileSystem.status(of: fixture.keyFile.path)?.size == 32)
    }

    @Test(arguments: Backend.all) func keyFileUnlocksAndSecretsRoundTrip(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        let reopened = try Vault.open(at: fixture.path).unlock(with: [.keyFile(KeyFile.load(from: fixture.keyFile.path))])
        #expect(try reopened.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        #expect(try reopened.currentSecret(of: ClientRef("prod/billing")).testValue == "fake-billing-secret")
    }

    @Test(arguments: Backend.all) func wrongKeyFileCannotUnlockAndChangesNothing(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        let other = try KeyFile.create(at: fixture.directory.file("other-key"))
        let before = try fixture.contents()
        #expect {
            try Vault.open(at: fixture.path).unlock(with: [.keyFile(other)])
        } throws: { error in
            let error = error as? VaultError
            return error?.code == .cannotUnlock && error!.message.contains("opens none of its keyslots")
        }
        #expect(try fixture.contents() == before)
    }

    @Test(arguments: Backend.all) func noCredentialSaysHowToUnlock(backend: Backend) throws {
        let fixture = try Fixture(backend)
        #expect { try Vault.open(at: fixture.path).unlock(with: []) } throws: {
            ($0 as? VaultError)?.code == .cannotUnlock && ($0 as? VaultError)?.next == [.giveVaultKey]
        }
    }

    @Test(arguments: Backend.all) func passphraseSlotUnlocksOnlyWithItsPassphrase(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        let slot = try fixture.vault.addKeyslot(.passphrase(Passphrase("correct horse battery"), cost: .interactive, label: "alice"))
        #expect(slot.kind == .passphrase && slot.label == "alice" && slot.argon2 == .interactive)
        let vault = try Vault.open(at: fixture.path)
        let unlocked = try vault.unlock(with: [.passphrase(Passphrase("correct horse battery"))])
        #expect(try unlocked.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        #expect { try vault.unlock(with: [.passphrase(Passphrase("wrong horse battery"))]) } throws: {
            ($0 as? VaultError)?.code == .cannotUnlock && "\($0)".contains("wrong passphrase")
        }
    }

    @Test func shortPassphraseIsRefused() {
        #expect { try NewKeyslot.passphrase(Passphrase("short"), cost: .interactive) } throws: {
            ($0 as? VaultError)?.code == .invalidInput
        }
    }

    @Test(arguments: Backend.all) func implausibleArgon2SettingsAreRefusedBeforeAllocating(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.vault.addKeyslot(.passphrase(Passphrase("correct horse battery"), cost: .interactive))
        try fixture.tamper("UPDATE keyslots SET kdf_memlimit = 1099511627776 WHERE kind = 'passphrase'")
        #expect { try Vault.open(at: fixture.path).unlock(with: [.passphrase(Passphrase("correct horse battery"))]) } throws: {
            ($0 as? VaultError)?.code == .corrupted && "\($0)".contains("implausible")
        }
    }

    @Test(arguments: Backend.all) func lastKeyslotCannotBeRemoved(backend: Backend) throws {
        let fixture = try Fixture(backend)
        #expect { try fixture.vault.removeKeyslot(id: 1) } throws: { ($0 as? VaultError)?.code == .conflict }
        let second = try fixture.vault.addKeyslot(.keyFile(KeyFile.create(at: fixture.directory.file("key2"))))
        try fixture.vault.removeKeyslot(id: 1)
        #expect(try Vault.open(at: fixture.path).keyslots().map(\.id) == [second.id])
        #expect { try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]) } throws: {
            ($0 as? VaultError)?.code == .cannotUnlock
        }
    }

    @Test func rekeyResealsEverythingAndKeepsOnlyOpenedSlots() throws {
        let fixture = try Fixture()
        try fixture.populate()
        let spare = try KeyFile.create(at: fixture.directory.file("spare"))
        try fixture.vault.addKeyslot(.keyFile(spare))
        let sealedBefore = try fixture.vault.database.rows("SELECT sealed FROM secret_versions ORDER BY id") { $0.blob(0) }

        let unlocked = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)], all: true)
        // A slot nothing given opens is dropped only when named (it once went without a word).
        #expect(try unlocked.unopenedKeyslots().map(\.id) == [2])
        #expect { try unlocked.rekey() } throws: { ($0 as? VaultError)?.code == .conflict && ($0 as? VaultError)?.next == [.dropKeyslots([2])] }
        #expect { try unlocked.rekey(dropping: [1, 2]) } throws: { ($0 as? VaultError)?.code == .conflict }
        #expect { try unlocked.rekey(dropping: [2, 7]) } throws: { ($0 as? VaultError)?.code == .notFound }
        let (rekeyed, report) = try unlocked.rekey(dropping: [2])
        #expect(report.resealed == 2 && report.keptKeyslots == [1] && report.removedKeyslots == [2])
        #expect(try rekeyed.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        let sealedAfter = try fixture.vault.database.rows("SELECT sealed FROM secret_versions ORDER BY id") { $0.blob(0) }
        #expect(zip(sealedBefore, sealedAfter).allSatisfy { $0 != $1 })

        let reopened = try Vault.open(at: fixture.path)
        #expect(try reopened.unlock(with: [.keyFile(fixture.keyFile)]).currentSecret(of: ClientRef("prod/billing")).testValue == "fake-billing-secret")
        #expect { try reopened.unlock(with: [.keyFile(spare)]) } throws: { ($0 as? VaultError)?.code == .cannotUnlock }
        // The old vault key no longer opens the re-sealed values.
        #expect { try fixture.vault.currentSecret(of: ClientRef("prod/orders")) } throws: { ($0 as? VaultError)?.code == .corrupted }
    }

    @Test(arguments: Backend.all) func rekeyKeepsEverySlotItWasGivenTheKeyOf(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.vault.addKeyslot(.passphrase(Passphrase("correct horse battery"), cost: .interactive))
        let vault = try Vault.open(at: fixture.path)
        let (_, report) = try vault.unlock(with: [.keyFile(fixture.keyFile), .passphrase(Passphrase("correct horse battery"))], all: true).rekey()
        #expect(report.keptKeyslots == [1, 2] && report.removedKeyslots.isEmpty)
        _ = try Vault.open(at: fixture.path).unlock(with: [.passphrase(Passphrase("correct horse battery"))])
    }
}
