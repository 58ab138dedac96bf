import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct TokenCacheTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let orders = try! ClientRef("prod/orders")

    func token(_ value: String = "fake-access-token", lifetime: TimeInterval = 300) -> AccessToken {
        AccessToken(value: value, expiresAt: now.addingTimeInterval(lifetime), issuedAt: now, scope: "profile")
    }

    @Test(arguments: Backend.all) func storedTokenIsServedUntilOnlyMinTTLRemains(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.storeToken(token(), for: orders, TokenRequestShape(), secretVersion: 1)
        let hit = try #require(try fixture.vault.cachedToken(for: orders, TokenRequestShape(), minimumTTL: .seconds(30), now: now.addingTimeInterval(269)))
        #expect(hit.value == "fake-access-token" && hit.scope == "profile" && hit.expiresAt == now.addingTimeInterval(300))
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(), minimumTTL: .seconds(30), now: now.addingTimeInterval(271)) == nil)
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(), minimumTTL: .seconds(0), now: now.addingTimeInterval(299)) != nil)
    }

    @Test(arguments: Backend.all) func cacheIsKeyedByScopesAudienceAndClient(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.storeToken(token("fake-a"), for: orders, TokenRequestShape(scopes: ["b", "a"]), secretVersion: 1)
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(scopes: ["a", "b", "a"]), minimumTTL: .seconds(0), now: now)?.value == "fake-a")
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(scopes: ["a"]), minimumTTL: .seconds(0), now: now) == nil)
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(scopes: ["a", "b"], audience: "x"), minimumTTL: .seconds(0), now: now) == nil)
        #expect(try fixture.vault.cachedToken(for: ClientRef("prod/billing"), TokenRequestShape(scopes: ["a", "b"]), minimumTTL: .seconds(0), now: now) == nil)
    }

    @Test(arguments: Backend.all) func tokenOfAnotherSecretVersionIsNotServed(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.storeToken(token(), for: orders, TokenRequestShape(), secretVersion: 2)
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(), minimumTTL: .seconds(0), now: now) == nil)
    }

    @Test(arguments: [
        "UPDATE cached_tokens SET expires_at = expires_at + 3600000",
        "UPDATE cached_tokens SET sealed = zeroblob(length(sealed))",
        "UPDATE realms SET token_url = 'https://attacker.example.test/token'",
    ])
    func editedCacheEntryIsNeverServed(sql: String) throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.vault.storeToken(token(), for: orders, TokenRequestShape(), secretVersion: 1)
        try fixture.tamper(sql)
        #expect(try fixture.vault.cachedToken(for: orders, TokenRequestShape(), minimumTTL: .seconds(0), now: now) == nil)
    }

    @Test func tokensAreSealedInTheFile() throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.vault.storeToken(token("fake-plaintext-token-value"), for: orders, TokenRequestShape(), secretVersion: 1)
        try fixture.tamper("PRAGMA wal_checkpoint(TRUNCATE)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: fixture.path))
        #expect(bytes.range(of: Data("fake-plaintext-token-value".utf8)) == nil)
    }

    @Test(arguments: Backend.all) func clearingAndRekeyingDropTheCache(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.vault.storeToken(token(), for: orders, TokenRequestShape(), secretVersion: 1)
        try fixture.vault.storeToken(token(), for: ClientRef("prod/billing"), TokenRequestShape(), secretVersion: 1)
        #expect(try fixture.vault.vault.cachedTokens().map(\.client.description) == ["prod/billing", "prod/orders"])
        #expect(try fixture.vault.clearTokenCache(for: orders) == 1)
        _ = try fixture.vault.rekey()
        #expect(try fixture.vault.vault.cachedTokens().isEmpty)
    }
}
