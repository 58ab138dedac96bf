import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// Sealed bundles in process: what the CLI tests cannot see (the secrets themselves, every byte).
@Suite struct BundleTests {
    /// Fixture `source` with `prod/orders` (rotated every 30 days) and `prod/billing`; the
    /// realm's admin client is `prod/orders`.
    static func source() throws -> Fixture {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.vault.setRotationInterval(.seconds(30 * 86_400), of: ClientRef("prod/orders"))
        try fixture.vault.updateRealm(Name("prod")) { $0.adminClient = try ClientRef("prod/orders") }
        return fixture
    }

    /// The bundle file's bytes for `fixture`, sealed with a fresh key file.
    static func sealed(_ fixture: Fixture) throws -> (bytes: [UInt8], key: KeyFile) {
        let key = try KeyFile.create(at: fixture.directory.file("bundle.key"))
        let path = fixture.directory.file("out.bundle")
        try fixture.vault.bundle().write(to: path, sealedWith: .keyFile(key))
        return ([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))), key)
    }

    @Test(arguments: Backend.all) func secretsSettingsAndSecretAgeArriveIntact(backend: Backend) throws {
        let source = try Self.source()
        let (bytes, key) = try Self.sealed(source)
        let target = try Fixture(backend)
        let bundle = try SealedBundle(bytes, source: "test").open(with: .keyFile(key))
        let report = try target.vault.importBundle(bundle)
        #expect(report.clients.map(\.action) == [.added, .added])
        for name in ["prod/orders", "prod/billing"] {
            let ref = try ClientRef(name)
            #expect(try target.vault.currentSecret(of: ref).testValue == source.vault.currentSecret(of: ref).testValue)
            let copied = try target.vault.vault.client(ref), original = try source.vault.vault.client(ref)
            #expect(copied.secretUpdatedAt == original.secretUpdatedAt && copied.rotateEvery == original.rotateEvery)
            #expect(copied.clientID == original.clientID && copied.authMethod == original.authMethod && copied.scopes == original.scopes
                    && copied.audience == original.audience && copied.secretVersion == 1)
        }
        #expect(try target.vault.vault.realm(named: Name("prod")).adminClient == ClientRef("prod/orders"))
    }

    @Test func passphraseBundleRoundTrips() throws {
        let source = try Self.source()
        let path = source.directory.file("p.bundle")
        try source.vault.bundle().write(to: path, sealedWith: .passphrase(Passphrase("fake passphrase 1")), cost: .interactive)
        let sealed = try SealedBundle.read(from: path)
        #expect(sealed.lock == .passphrase(.interactive))
        #expect(throws: VaultError.self) { try sealed.open(with: .passphrase(Passphrase("fake passphrase 2"))) }
        let bundle = try sealed.open(with: .passphrase(Passphrase("fake passphrase 1")))
        #expect(bundle.clients.map { $0.secret.testValue } == ["fake-billing-secret", "fake-orders-secret"])
    }

    /// Authenticated as a whole: a flip of any bit pattern at any offset, and a cut at any
    /// length, is refused — never opened into something else.
    @Test func everyFlippedByteAndEveryCutIsRefused() throws {
        let (bytes, key) = try Self.sealed(try Self.source())
        for index in bytes.indices {
            var bad = bytes
            bad[index] ^= 0x40
            #expect(throws: VaultError.self, "byte \(index)") { try SealedBundle(bad, source: "t").open(with: .keyFile(key)) }
        }
        for length in 0..<bytes.count {
            #expect(throws: VaultError.self, "cut at \(length)") { try SealedBundle(Array(bytes.prefix(length)), source: "t").open(with: .keyFile(key)) }
        }
    }

    /// With the checksum recomputed, every change inside the header, nonce, ciphertext or tag is
    /// still refused by the key check or the seal.
    @Test func deliberateChangesAreRefusedByTheSeal() throws {
        let (bytes, key) = try Self.sealed(try Self.source())
        for index in 0..<(bytes.count - 32) {
            var bad = Array(bytes.dropLast(32))
            bad[index] ^= 0x01
            bad += BundleKey.checksum(bad[...])
            #expect(throws: VaultError.self, "byte \(index)") { try SealedBundle(bad, source: "t").open(with: .keyFile(key)) }
        }
    }

    @Test func aSliceKeepsItsAllocationAliveAndReadsItsOwnBytes() {
        var parent: SecureBytes? = SecureBytes(copying: Array("fake-abcdef".utf8))
        let slice = SecureBytes(slice: 5..<8, of: parent!)
        let inner = SecureBytes(slice: 1..<2, of: slice)
        parent = nil
        #expect(slice.withUnsafeBytes { Array($0) } == Array("abc".utf8))
        #expect(inner.withUnsafeBytes { Array($0) } == Array("b".utf8))
    }

    @Test func exportRefusesASecretThatDoesNotOpenAndNamesIt() throws {
        let source = try Self.source()
        try source.tamper("UPDATE secret_versions SET sealed = zeroblob(length(sealed)) WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')")
        let error = #expect(throws: VaultError.self) { try source.vault.bundle() }
        #expect(error?.code == .corrupted && error?.message.contains("prod/orders") == true)
    }

    @Test func overwriteWithAnotherClientIDRetiresTheOldVersionsAndForgetsTheIdPsUUID() throws {
        let source = try Self.source()
        let (bytes, key) = try Self.sealed(source)
        let target = try Fixture()
        try target.vault.addRealm(Name("prod"), RealmSettings(tokenURL: Fixture.tokenURL))
        let orders = try ClientRef("prod/orders")
        try target.vault.addClient(orders, ClientSettings(clientID: "old-orders"), secret: ClientSecret("fake-old"))
        try target.tamper("UPDATE clients SET idp_uuid = 'uuid-of-old-orders' WHERE name = 'orders'")  // as a rotation remembers it
        #expect(try target.vault.identityAtIdP(of: orders).uuid == "uuid-of-old-orders")
        let report = try target.vault.importBundle(try SealedBundle(bytes, source: "t").open(with: .keyFile(key)), onConflict: .overwrite)
        #expect(report.clients.first { $0.ref == orders }?.action == .overwritten)
        #expect(try target.vault.currentSecret(of: orders).testValue == "fake-orders-secret")
        #expect(try target.vault.identityAtIdP(of: orders).uuid == nil)
        #expect(try RawVault.execute(target.path, "SELECT group_concat(version || state || (sealed IS NULL)) FROM secret_versions WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')") == ["1retired1,2current0"])
    }

    @Test(arguments: Backend.all) func overwriteDuringARotationIsRefusedWhole(backend: Backend) throws {
        let source = try Self.source()
        let (bytes, key) = try Self.sealed(source)
        let target = try Fixture(backend)
        try target.populate()
        _ = try target.vault.prepareRotation(of: ClientRef("prod/orders"), mode: .chosen, secret: ClientSecret.generated())
        let before = try target.contents()
        let error = #expect(throws: VaultError.self) {
            try target.vault.importBundle(try SealedBundle(bytes, source: "t").open(with: .keyFile(key)), onConflict: .overwrite)
        }
        #expect(error?.code == .conflict && error?.message.contains("in the middle of a rotation") == true)
        #expect(error?.next.contains(.resumeRotation(try ClientRef("prod/orders"))) == true)
        #expect(try target.contents() == before)
    }

    @Test(arguments: Backend.all) func renamedAdminClientStaysTheRealmsAdminClient(backend: Backend) throws {
        let source = try Self.source()
        let (bytes, key) = try Self.sealed(source)
        let target = try Fixture(backend)
        try target.vault.addRealm(Name("prod"), RealmSettings(tokenURL: "https://elsewhere.example.test/token"))
        let report = try target.vault.importBundle(try SealedBundle(bytes, source: "t").open(with: .keyFile(key)), onConflict: .rename)
        #expect(report.realms.map(\.importedAs) == [try Name("prod-2")])
        #expect(try target.vault.vault.realm(named: Name("prod-2")).adminClient == ClientRef("prod-2/orders"))
        #expect(try target.vault.vault.realm(named: Name("prod")).clientCount == 0)
    }
}
