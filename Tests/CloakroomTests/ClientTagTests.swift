import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// A client's row is authenticated (migration 0008): its name, realm, settings, the realm's
/// keep-previous period, which secret version is current / previous / pending and its open
/// rotation. Someone who can write the file but has no key cannot rename, re-point, roll back or
/// journal a client without cloak refusing it (exit 6) and doctor naming it.
@Suite struct ClientTagTests {
    /// Opened afresh, as the next `cloak` process would.
    func reopen(_ fixture: Fixture) throws -> UnlockedVault {
        try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
    }

    func isTampered(_ error: any Error, _ ref: String) -> Bool {
        guard let error = error as? VaultError else { return false }
        return error.code == .corrupted && error.message.contains(ref) && !error.message.contains("fake-")
    }

    /// No token request is made for `ref`, and doctor names it.
    func expectRefused(_ fixture: Fixture, _ ref: String, _ sourceLocation: SourceLocation = #_sourceLocation) throws {
        let vault = try reopen(fixture)
        #expect(sourceLocation: sourceLocation) { try vault.tokenRequest(for: ClientRef(ref), TokenRequestShape()) } throws: {
            isTampered($0, ref)
        }
        let checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(!checkup.isHealthy, sourceLocation: sourceLocation)
        #expect(checkup.findings.contains { $0.check == "clients" && $0.subject == ref && $0.severity == .problem },
                "\(checkup.findings.map(\.message))", sourceLocation: sourceLocation)
    }

    static func token(_ value: String) -> AccessToken {
        let now = Date()
        return AccessToken(value: value, expiresAt: now + 3600, issuedAt: now, scope: nil)
    }

    @Test(arguments: Backend.all) func swappedNamesAreRefusedForTokensCachedTokensAndRotation(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.storeToken(Self.token("fake-orders-token"), for: ClientRef("prod/orders"), TokenRequestShape(), secretVersion: 1)
        try fixture.vault.storeToken(Self.token("fake-billing-token"), for: ClientRef("prod/billing"), TokenRequestShape(), secretVersion: 1)
        try fixture.tamper("""
            UPDATE clients SET name = 'swap' WHERE name = 'orders';
            UPDATE clients SET name = 'orders' WHERE name = 'billing';
            UPDATE clients SET name = 'billing' WHERE name = 'swap';
            """)
        let vault = try reopen(fixture)
        #expect { try vault.cachedToken(for: ClientRef("prod/orders"), TokenRequestShape(), minimumTTL: .seconds(0), now: Date()) } throws: {
            isTampered($0, "prod/orders")
        }
        #expect { try vault.prepareRotation(of: ClientRef("prod/orders"), mode: .chosen, secret: ClientSecret("fake-next-secret")) } throws: {
            isTampered($0, "prod/orders")
        }
        // Nor is the swap carried into an export.
        #expect { try vault.bundle() } throws: { ($0 as? VaultError)?.code == .corrupted }
        try expectRefused(fixture, "prod/orders")
        try expectRefused(fixture, "prod/billing")
    }

    /// Changes that re-make tags check them first: re-making the tag of an edited row would make
    /// the edit look like cloak's own.
    @Test(arguments: Backend.all) func changesThatReauthenticateRefuseAnEditedRowFirst(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.tamper("UPDATE clients SET scopes = 'admin' WHERE name = 'orders'")
        let vault = try reopen(fixture)
        let before = try fixture.contents()
        #expect { try vault.setKeepPrevious(.seconds(60), realm: Name("prod")) } throws: { isTampered($0, "prod/orders") }
        #expect { try vault.setRotationInterval(.seconds(86400), of: ClientRef("prod/orders")) } throws: { isTampered($0, "prod/orders") }
        #expect { try vault.replaceSecret(of: ClientRef("prod/orders"), with: ClientSecret("fake-new"), detail: "test") } throws: {
            isTampered($0, "prod/orders")
        }
        #expect { try vault.rekey() } throws: { isTampered($0, "prod/orders") }
        #expect(try fixture.contents() == before)
        try expectRefused(fixture, "prod/orders")
        // Removing it is always possible: the way out that needs no backup.
        try vault.removeClient(ClientRef("prod/orders"))
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
    }

    @Test(arguments: Backend.all) func secretRolledBackBySwappingVersionStatesIsRefused(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.replaceSecret(of: ClientRef("prod/orders"), with: ClientSecret("fake-orders-secret-2"), detail: "test")
        try fixture.tamper("""
            UPDATE secret_versions SET state = 'previous' WHERE version = 2 AND client_id = (SELECT id FROM clients WHERE name = 'orders');
            UPDATE secret_versions SET state = 'current' WHERE version = 1 AND client_id = (SELECT id FROM clients WHERE name = 'orders');
            """)
        try expectRefused(fixture, "prod/orders")
    }

    /// An open journal row makes the next command settle the rotation, which retires the pending
    /// version or promotes it: a forged one is refused before any of that.
    @Test(arguments: Backend.all) func forgedOpenRotationIsRefusedBeforeItIsSettled(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.replaceSecret(of: ClientRef("prod/orders"), with: ClientSecret("fake-orders-secret-2"), detail: "test")
        try fixture.tamper("""
            INSERT INTO rotations (client_id, from_version, to_version, mode, state, started_at, updated_at)
            SELECT id, 2, 3, 'chosen', 'pushed', 0, 0 FROM clients WHERE name = 'orders'
            """)
        let vault = try reopen(fixture)
        let journal = try #require(try vault.openRotation(of: ClientRef("prod/orders")))
        let before = try fixture.contents()
        #expect { try vault.abandon(journal, as: .undone, detail: "test") } throws: { isTampered($0, "prod/orders") }
        #expect { try vault.promote(journal) } throws: { isTampered($0, "prod/orders") }
        #expect(try fixture.contents() == before)
        try expectRefused(fixture, "prod/orders")
    }

    @Test(arguments: Backend.all, [
        "UPDATE clients SET auth_method = 'client_secret_post' WHERE name = 'orders'",
        "UPDATE clients SET scopes = 'admin' WHERE name = 'orders'",
        "UPDATE clients SET audience = 'https://elsewhere.example.test' WHERE name = 'orders'",
        "UPDATE clients SET rotate_every = 60 WHERE name = 'orders'",
        "UPDATE realms SET keep_previous = 0",
        "UPDATE secret_versions SET state_changed_at = 0 WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')",
        "UPDATE clients SET realm_id = (SELECT id FROM realms WHERE name = 'stage') WHERE name = 'orders'",
    ])
    func editedSettingsAreRefused(backend: Backend, sql: String) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.addRealm(Name("stage"), RealmSettings(tokenURL: Fixture.tokenURL))
        try fixture.tamper(sql)
        try expectRefused(fixture, sql.contains("realm_id") ? "stage/orders" : "prod/orders")
    }

    /// Two realms at one IdP: swapping their names would serve one realm's cached token under the other's name.
    @Test(arguments: Backend.all) func swappedRealmNamesDoNotServeCachedTokens(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.addRealm(Name("stage"), RealmSettings(tokenURL: Fixture.tokenURL))
        try fixture.vault.addClient(ClientRef("stage/orders"), ClientSettings(clientID: "orders-stage"), secret: ClientSecret("fake-stage-secret"))
        try fixture.vault.storeToken(Self.token("fake-prod-token"), for: ClientRef("prod/orders"), TokenRequestShape(), secretVersion: 1)
        try fixture.tamper("""
            UPDATE realms SET name = 'swap' WHERE name = 'prod';
            UPDATE realms SET name = 'prod' WHERE name = 'stage';
            UPDATE realms SET name = 'stage' WHERE name = 'swap';
            """)
        let vault = try reopen(fixture)
        #expect { try vault.cachedToken(for: ClientRef("stage/orders"), TokenRequestShape(), minimumTTL: .seconds(0), now: Date()) } throws: {
            isTampered($0, "stage/orders")
        }
        try expectRefused(fixture, "stage/orders")
    }

    /// What every change cloak makes leaves behind: tags that verify.
    @Test(arguments: Backend.all) func everyChangeCloakMakesReauthenticatesTheClient(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        let vault = fixture.vault
        let orders = try ClientRef("prod/orders")
        try vault.setRotationInterval(.seconds(86400), of: orders)
        try vault.setKeepPrevious(.seconds(3600), realm: Name("prod"))
        try vault.replaceSecret(of: orders, with: ClientSecret("fake-orders-secret-2"), detail: "test")
        let (journal, _) = try vault.prepareRotation(of: orders, mode: .chosen, secret: ClientSecret("fake-orders-secret-3"))
        try vault.advance(journal, to: .pushed)
        try vault.promote(journal)
        let (second, _) = try vault.prepareRotation(of: orders, mode: .chosen, secret: ClientSecret("fake-orders-secret-4"))
        try vault.abandon(second, as: .failed, detail: "test")
        try vault.updateRealm(Name("prod")) { $0.tokenURL = "https://idp2.example.test/realms/prod/protocol/openid-connect/token" }
        let (rekeyed, _) = try vault.rekey()
        #expect(try rekeyed.tokenRequest(for: orders, TokenRequestShape()).secretVersion == 3)
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
        #expect(try reopen(fixture).currentSecret(of: orders).testValue == "fake-orders-secret-3")
    }

    /// A row written before migration 0008 has no tag: refused like an edited one (as realms were
    /// after 0007) until the user looks at it and accepts it.
    @Test(arguments: Backend.all) func untaggedClientIsRefusedUntilReauthenticated(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.tamper("UPDATE clients SET trust_tag = NULL WHERE name = 'orders'")
        try expectRefused(fixture, "prod/orders")
        let vault = try reopen(fixture)
        #expect { try vault.tokenRequest(for: ClientRef("prod/orders"), TokenRequestShape()) } throws: {
            ($0 as? VaultError)?.next.contains(.reauthenticate(try! ClientRef("prod/orders"))) == true
        }
        try vault.reauthenticateClient(ClientRef("prod/orders"))
        #expect(try reopen(fixture).tokenRequest(for: ClientRef("prod/orders"), TokenRequestShape()).secretVersion == 1)
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
    }
}
