import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// An attacker with write access to the vault file, but not the key, must never get a wrong
/// plaintext out of it, nor have a secret sent somewhere else.
@Suite struct TamperTests {
    func expectCorrupted(_ fixture: Fixture, _ ref: String, _ sourceLocation: SourceLocation = #_sourceLocation) throws {
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        #expect(sourceLocation: sourceLocation) { try vault.currentSecret(of: ClientRef(ref)) } throws: { error in
            let error = error as? VaultError
            return error?.code == .corrupted && error!.message.contains(ref) && !error!.message.contains("fake-")
        }
        let checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(!checkup.isHealthy, sourceLocation: sourceLocation)
        #expect(checkup.findings.contains { $0.check == "secrets" && $0.subject == ref && $0.severity == .problem }, sourceLocation: sourceLocation)
    }

    @Test(arguments: [0, 1, 7, 16, 17, 30])
    func flippedByteInASealedSecretIsDetected(offset: Int) throws {
        let fixture = try Fixture()
        try fixture.populate()
        let sealed = try #require(try fixture.vault.database.row(
            "SELECT sealed FROM secret_versions s JOIN clients c ON c.id = s.client_id WHERE c.name = 'orders'") { $0.blob(0) })
        var flipped = sealed
        flipped[offset % sealed.count] ^= 0x20
        try fixture.tamper("UPDATE secret_versions SET sealed = x'\(flipped.hex)' WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')")
        try expectCorrupted(fixture, "prod/orders")
        #expect(try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]).currentSecret(of: ClientRef("prod/billing")).testValue == "fake-billing-secret")
    }

    @Test func sealedSecretCopiedToAnotherClientDoesNotOpen() throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.tamper("""
            UPDATE secret_versions SET
              nonce = (SELECT s.nonce FROM secret_versions s JOIN clients c ON c.id = s.client_id WHERE c.name = 'orders'),
              sealed = (SELECT s.sealed FROM secret_versions s JOIN clients c ON c.id = s.client_id WHERE c.name = 'orders')
            WHERE client_id = (SELECT id FROM clients WHERE name = 'billing')
            """)
        try expectCorrupted(fixture, "prod/billing")
    }

    @Test(arguments: [
        "UPDATE realms SET token_url = 'https://attacker.example.test/token'",
        "UPDATE clients SET client_id = 'someone-else' WHERE name = 'orders'",
        "UPDATE secret_versions SET version = 7 WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')",
    ])
    func editingWhatASecretIsBoundToMakesItRefuseToOpen(sql: String) throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.tamper(sql)
        try expectCorrupted(fixture, "prod/orders")
    }

    /// The right key file (its fingerprint is the slot's) that does not open its slot means the
    /// slot or the vault's identity was edited: tampering (exit 6), not "wrong key file?" (exit 5).
    @Test(arguments: [
        "UPDATE vault SET vault_id = randomblob(16)",
        "PRAGMA ignore_check_constraints = ON; UPDATE keyslots SET kdf_opslimit = 3, kdf_memlimit = 67108864, kdf_salt = randomblob(16)",
        "UPDATE keyslots SET wrapped_key = randomblob(48)",
    ])
    func editedVaultIdentityOrKeyslotIsTamperingNotAWrongKey(sql: String) throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.tamper(sql)
        #expect { try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]) } throws: {
            ($0 as? VaultError)?.code == .corrupted && "\($0)".contains("tampered") && "\($0)".contains("keyslot 1")
        }
        // Another key file is still just the wrong one.
        let other = try KeyFile.create(at: fixture.directory.file("other-key"))
        #expect { try Vault.open(at: fixture.path).unlock(with: [.keyFile(other)]) } throws: {
            ($0 as? VaultError)?.code == .cannotUnlock && "\($0)".contains("wrong key file?")
        }
    }

    @Test func changingTheTokenURLThroughCloakResealsTheSecrets() throws {
        let fixture = try Fixture()
        try fixture.populate()
        let moved = "https://idp2.example.test/realms/prod/protocol/openid-connect/token"
        let realm = try fixture.vault.updateRealm(Name("prod")) { $0.tokenURL = moved }
        #expect(realm.secretEndpoint == moved)
        #expect(try fixture.vault.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
    }

    @Test func realmUpdateRollsBackWhenASecretNoLongerOpens() throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.tamper("UPDATE secret_versions SET sealed = zeroblob(40) WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')")
        let before = try fixture.contents()
        #expect { try fixture.vault.updateRealm(Name("prod")) { $0.tokenURL = "https://idp2.example.test/token" } } throws: {
            ($0 as? VaultError)?.code == .corrupted && "\($0)".contains("prod/orders")
        }
        #expect(try fixture.contents() == before)
    }
}
