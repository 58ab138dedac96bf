import CloakroomStore
import Foundation
import CloakroomTestSupport
import Synchronization
import Testing
@testable import Cloakroom
import AsyncHTTPClient
import CloakroomAsyncHTTPClient
import NIOHTTP1

/// The library's broker against a real cloak-idp on 127.0.0.1, with an injected clock.
@Suite(.serialized) struct BrokerTests {
    /// A clock that starts now and moves only when told.
    final class ManualClock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = Date()
        func read() -> Date { lock.withLock { now } }
        func advance(_ seconds: TimeInterval) { lock.withLock { now += seconds } }
    }

    func broker(_ idp: IdP, clock: ManualClock, deadline: Duration = .seconds(5), backend: Backend = .sqlite) throws -> (TokenBroker, Fixture) {
        let fixture = try Fixture(backend)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/basic"), ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        var configuration = TokenBroker.Configuration()
        configuration.clock = { clock.read() }
        configuration.deadline = deadline
        let vault = try Vault.open(at: fixture.path, clock: { clock.read() }).unlock(with: [.keyFile(fixture.keyFile)])
        return (try TokenBroker(vault, configuration: configuration), fixture)
    }

    @Test(arguments: Backend.all) func thousandConcurrentCallersMakeOneRequest(backend: Backend) async throws {
        let idp = try IdP()
        let clock = ManualClock()
        let (broker, fixture) = try broker(idp, clock: clock, backend: backend)
        defer { withExtendedLifetime(fixture) {} }
        try await idp.fault(#"{"fault":"latency","delay_ms":200,"route":"token","count":1}"#)
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<1000 { group.addTask { try await broker.token(for: "r1/basic").token.value } }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(tokens.count == 1)
        #expect(try await idp.tokenRequests() == 1)
    }

    @Test(arguments: Backend.all) func tokensAreReusedThenRefreshedAfterEightyPercentOfTheirLife(backend: Backend) async throws {
        let idp = try IdP()
        let clock = ManualClock()
        let (broker, fixture) = try broker(idp, clock: clock, backend: backend)
        defer { withExtendedLifetime(fixture) {} }
        let first = try await broker.token(for: "r1/basic")
        #expect(first.source == .idp)
        clock.advance(200)  // 2/3 of 300 s
        let second = try await broker.token(for: "r1/basic")
        #expect(second.source == .memory && second.token.value == first.token.value)
        #expect(try await idp.tokenRequests() == 1)
        clock.advance(45)  // 245 s: past 80 %
        let third = try await broker.token(for: "r1/basic")
        #expect(third.source == .idp && third.token.value != first.token.value)
        #expect(try await idp.tokenRequests() == 2)
    }

    @Test(arguments: Backend.all) func aCachedTokenOutlivesAnOutageButNotItsExpiry(backend: Backend) async throws {
        let idp = try IdP()
        let clock = ManualClock()
        let (broker, fixture) = try broker(idp, clock: clock, deadline: .seconds(1), backend: backend)
        defer { withExtendedLifetime(fixture) {} }
        let first = try await broker.token(for: "r1/basic")
        try await idp.fault(#"{"fault":"status","status":503,"route":"token"}"#)
        clock.advance(250)  // due for refresh; the refresh fails; the old token still has 50 s
        let during = try await broker.token(for: "r1/basic")
        #expect(during.token.value == first.token.value)
        clock.advance(60)  // now expired: nothing valid to serve
        await #expect(throws: TokenError.self) { try await broker.token(for: "r1/basic") }
    }

    /// The token cache, counting the lookups that go through it.
    final class CountingCache: TokenCacheStore, @unchecked Sendable {
        let wrapped: any TokenCacheStore
        private let lock = NSLock()
        private var count = 0
        init(_ wrapped: any TokenCacheStore) { self.wrapped = wrapped }
        var lookups: Int { lock.withLock { count } }
        func token(realm: String, client name: String, cacheKey: String, expiringAfter cutoff: Int64) throws -> (CachedTokenRecord, ClientTagRecord)? {
            lock.withLock { count += 1 }
            return try wrapped.token(realm: realm, client: name, cacheKey: cacheKey, expiringAfter: cutoff)
        }
        func store(_ record: CachedTokenRecord) throws { try wrapped.store(record) }
        func remove(clientRowID: Int64?) throws -> Int { try wrapped.remove(clientRowID: clientRowID) }
        func remove(realmRowID: Int64) throws { try wrapped.remove(realmRowID: realmRowID) }
        func entries() throws -> [CachedTokenEntry] { try wrapped.entries() }
    }

    /// A broker over `fixture`'s vault whose cache lookups are counted.
    func countingBroker(_ fixture: Fixture) throws -> (TokenBroker, CountingCache) {
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        let store = vault.vault.store
        let counting = CountingCache(store.tokenCache)
        store.tokenCache = counting
        return (try TokenBroker(vault, configuration: TokenBroker.Configuration()), counting)
    }

    @Test func aMissTheCallerReadAlreadyIsReadAgainOnlyUnderTheLock() async throws {
        let idp = try IdP()
        let (_, fixture) = try broker(idp, clock: ManualClock())
        // Unread: once before the lock (a fresh token needs no lock), once under it.
        let (plain, plainCache) = try countingBroker(fixture)
        #expect(try await plain.token(for: "r1/basic").source == .idp)
        #expect(plainCache.lookups == 2)
        // Read by the caller (`cloak token`'s fast path): only the read under the lock is left,
        // which single flight needs (another process may have fetched meanwhile).
        try fixture.vault.clearTokenCache()
        let (handedOn, handedOnCache) = try countingBroker(fixture)
        #expect(try await handedOn.token(for: "r1/basic", cache: .read(nil)).source == .idp)
        #expect(handedOnCache.lookups == 1)
        #expect(try await idp.tokenRequests() == 2)
    }

    /// A refresh that arrives while a plain fetch of the same request waits for the lock gets a
    /// new token, not the cached one the plain fetch is about to find.
    @Test(arguments: Backend.all) func aRefreshNeverJoinsAPlainFetchInFlight(backend: Backend) async throws {
        let idp = try IdP()
        let clock = ManualClock()
        let (first, fixture) = try broker(idp, clock: clock, backend: backend)
        let cached = try await first.token(for: "r1/basic").token
        // Another broker (another process, say), with an empty memory: its fetches wait for the
        // lock a third party holds.
        let (broker, _) = try countingBroker(fixture)
        let key = TokenBroker.Key(client: try ClientRef("r1/basic"), shape: TokenRequestShape())
        guard let lock = try await broker.locks.acquire(broker.lockName(for: key), until: .now + .seconds(5)) else {
            Issue.record("the lock was not free")
            return
        }
        async let plain = broker.token(for: "r1/basic", cache: .read(nil))
        try await Task.sleep(for: .milliseconds(200))  // the plain fetch is waiting for the lock
        async let refreshed = broker.token(for: "r1/basic", refresh: true)
        try await Task.sleep(for: .milliseconds(200))
        _ = consume lock
        let (plainGrant, refreshedGrant) = try await (plain, refreshed)
        // The plain fetch finds a cached token (the old one, or the refreshed one if the refresh
        // took the lock first); the refresh asked the IdP.
        #expect(plainGrant.source == .cache)
        #expect(refreshedGrant.source == .idp && refreshedGrant.token.value != cached.value)
        #expect(try await idp.tokenRequests() == 2)
    }

    /// A file where the vault's lock directory belongs: the fetch says which lock file it could
    /// not open (the store's `.system` failure, in FileSystem's words) and changes nothing.
    @Test func aFileInPlaceOfTheLockDirectoryIsAClearErrorAndChangesNothing() async throws {
        let idp = try IdP()
        let fixture = try Fixture()
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/basic"), ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        try Data("not a directory\n".utf8).write(to: URL(fileURLWithPath: fixture.path + ".locks"))
        let before = try fixture.contents()
        let broker = try TokenBroker(vault: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        await #expect { _ = try await broker.token(for: "r1/basic") } throws: {
            ($0 as? VaultError)?.code == .notFound && "\($0)".contains("cannot open lock file \(fixture.path).locks/")
        }
        #expect(try fixture.contents() == before)
        #expect(try await idp.tokenRequests() == 0)
    }

    @Test(arguments: Backend.all) func cachedTokenIsSharedThroughTheVault(backend: Backend) async throws {
        let idp = try IdP()
        let clock = ManualClock()
        let (broker, fixture) = try broker(idp, clock: clock, backend: backend)
        _ = try await broker.token(for: "r1/basic")
        // A second broker (another process, say) on the same vault finds the token without asking.
        let other = try TokenBroker(vault: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(try other.cachedToken(for: "r1/basic")?.source == .cache)
        #expect(try await other.token(for: "r1/basic").source == .memory)
        #expect(try await idp.tokenRequests() == 1)
    }

    @Test func unknownClientIsAVaultError() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp, clock: ManualClock())
        defer { withExtendedLifetime(fixture) {} }
        await #expect { try await broker.token(for: "r1/nope") } throws: { ($0 as? VaultError)?.code == .notFound }
    }
}

@Suite struct BrokerHTTPClientTests {
    /// cloak-idp's admin API stands in for a protected service. When the IdP's clock runs ahead,
    /// it refuses a token the broker still believes valid: one 401, one fresh token, one retry.
    /// A service's test fakes the token source: `execute` takes any `TokenProvider`.
    final class FakeProvider: TokenProvider {
        let asked = Mutex<[Bool]>([])
        func token(for client: ClientRef, scopes: [String], audience: String?, minimumTTL: Duration?, refresh: Bool) async throws -> TokenBroker.Grant {
            asked.withLock { $0.append(refresh) }
            let now = Date()
            return TokenBroker.Grant(token: AccessToken(value: "fake-token-\(refresh ? 2 : 1)", expiresAt: now + 300, issuedAt: now, scope: nil),
                                     source: .memory)
        }
    }

    @Test func executeTakesAnyTokenProviderAndRefreshesOnceAfterA401() async throws {
        let idp = try IdP()
        let provider = FakeProvider()
        // cloak-idp's admin API refuses a token it did not sign: 401, a fresh token, 401 again.
        let response = try await provider.execute(HTTPClientRequest(url: idp.baseURL + "/admin/realms/r1/clients"), as: "r1/viewer")
        #expect(response.status == .unauthorized)
        _ = try await response.body.collect(upTo: 1 << 20)
        #expect(provider.asked.withLock { $0 } == [false, true])
    }

    @Test(arguments: Backend.all) func requestGetsABearerTokenAndOneRetryAfterA401(backend: Backend) async throws {
        let idp = try IdP()
        let fixture = try Fixture(backend)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/viewer"), ClientSettings(clientID: "kc-viewer"), secret: ClientSecret(IdP.viewerSecret))
        let broker = try TokenBroker(vault: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        let request = HTTPClientRequest(url: idp.baseURL + "/admin/realms/r1/clients?clientId=broker-svc")

        let first = try await broker.execute(request, as: "r1/viewer")
        #expect(first.status == .ok)
        _ = try await first.body.collect(upTo: 1 << 20)
        #expect(try await idp.tokenRequests() == 1)

        try await idp.control("POST", "clock", #"{"advance_seconds": 600}"#)
        let second = try await broker.execute(request, as: "r1/viewer")
        #expect(second.status == .ok)
        _ = try await second.body.collect(upTo: 1 << 20)
        #expect(try await idp.tokenRequests() == 2, "one fresh token after the 401")
    }
}
