import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// Issue 13, items 10 and 11: a client changed in place, and a client checked with the IdP
/// before it is stored or changed.
@Suite(.serialized) struct ClientUpdateTests {
    let orders = try! ClientRef("prod/orders")

    /// A token in the cache for `ref`, as a fetch would leave it.
    func cache(_ vault: UnlockedVault, _ ref: ClientRef) throws {
        let token = AccessToken(value: "fake-token-\(ref.name)", expiresAt: Date() + 300, issuedAt: Date(), scope: nil)
        try vault.storeToken(token, for: ref, TokenRequestShape(), secretVersion: try #require(vault.vault.client(ref).secretVersion))
    }

    static func isRefusal(_ error: any Error) -> Bool {
        if case .rejected = error as? TokenError { true } else { false }
    }

    func cached(_ vault: UnlockedVault, _ ref: ClientRef) throws -> AccessToken? {
        try vault.cachedToken(for: ref, TokenRequestShape(), minimumTTL: .zero, now: Date())
    }

    @Test(arguments: Backend.all) func eachChangeKeepsWhatItMustAndDropsWhatNoLongerHolds(backend: Backend) throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        let vault = fixture.vault
        try cache(vault, orders)

        // A new name: the row keeps its secret, its cached token and its history.
        var change = ClientChange(try vault.vault.client(orders))
        change.name = try Name("orders-api")
        let renamed = try vault.updateClient(orders, to: change)
        let api = try ClientRef("prod/orders-api")
        #expect(renamed.client.ref == api && renamed.changes == ["renamed from prod/orders"])
        #expect(throws: VaultError.self) { try vault.vault.client(orders) }
        #expect(try vault.currentSecret(of: api).matches(ClientSecret("fake-orders-secret")))
        #expect(try cached(vault, api)?.value == "fake-token-orders")

        // A taken name is refused, and nothing changes.
        let before = try fixture.contents()
        change.name = try Name("billing")
        #expect { try vault.updateClient(api, to: change) } throws: { ($0 as? VaultError)?.code == .alreadyExists }
        #expect(try fixture.contents() == before)

        // A new secret: version 2 current, version 1 kept as previous, the cache dropped.
        change = ClientChange(try vault.vault.client(api))
        let replaced = try vault.updateClient(api, to: change, secret: ClientSecret("fake-orders-secret-2"))
        #expect(replaced.changes == ["secret version 2 current, version 1 kept as previous"])
        #expect(try vault.vault.rotationStatus(of: api).previousVersions == [1])
        #expect(try vault.currentSecret(of: api).matches(ClientSecret("fake-orders-secret-2")))
        #expect(try cached(vault, api) == nil)

        // The same secret again changes nothing and records nothing.
        let events = try vault.events().count
        #expect(try vault.updateClient(api, to: change, secret: ClientSecret("fake-orders-secret-2")).changes.isEmpty)
        #expect(try vault.events().count == events)

        // Scopes, audience and auth: what the next token request sends.
        try cache(vault, api)
        change.settings.scopes = ["orders:read", "orders:write"]
        change.settings.audience = "orders-api"
        change.settings.authMethod = .clientSecretPost
        let reshaped = try vault.updateClient(api, to: change)
        #expect(reshaped.changes == ["auth client_secret_basic → client_secret_post", "scopes none → orders:read orders:write", "audience none → orders-api"])
        let (request, _) = try vault.tokenRequest(for: api, TokenRequestShape())
        #expect(request.shape == TokenRequestShape(scopes: ["orders:read", "orders:write"], audience: "orders-api"))
        #expect(request.authMethod == .clientSecretPost)
        #expect(try cached(vault, api) == nil)

        // A new client_id: the current secret is sealed again for it, the previous one retired.
        change.settings.clientID = "orders-api-svc"
        let moved = try vault.updateClient(api, to: change)
        #expect(moved.changes == ["client_id orders-svc → orders-api-svc", "1 previous version of the old client_id retired"])
        #expect(try vault.currentSecret(of: api).matches(ClientSecret("fake-orders-secret-2")))
        #expect(try vault.vault.rotationStatus(of: api).previousVersions.isEmpty)
        #expect(try vault.tokenRequest(for: api, TokenRequestShape()).0.clientID == "orders-api-svc")

        // A rotation schedule, and back.
        change.rotateEvery = .seconds(30 * 86_400)
        #expect(try vault.updateClient(api, to: change).changes == ["rotation schedule none → every 30d"])

        // Each change is one audit event, and the vault checks out whole.
        let updates = try vault.events(client: api).filter { $0.action == "client.updated" }
        #expect(updates.count == 5, "\(updates.map(\.detail))")
        #expect(try vault.verifyAuditLog().isIntact)
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
    }

    /// A client whose row was changed outside cloak is not changed further: an update would
    /// re-make its tag and so make the edit look like cloak's own.
    @Test(arguments: Backend.all) func aRowChangedOutsideCloakIsRefused(backend: Backend) async throws {
        let fixture = try Fixture(backend)
        try fixture.populate()
        try fixture.tamper("UPDATE clients SET client_id = 'someone-else' WHERE name = 'orders'")
        let before = try fixture.contents()
        var change = ClientChange(try fixture.vault.vault.client(orders))
        change.settings.scopes = ["x"]
        #expect { try fixture.vault.updateClient(orders, to: change) } throws: { ($0 as? VaultError)?.code == .corrupted }
        // Through the broker, refused before a request is sent on its behalf (the realm's IdP,
        // idp.example.test, does not exist: a request would fail as unavailable instead).
        let broker = try TokenBroker(try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]))
        await #expect { try await broker.updateClient(orders, to: change, secret: ClientSecret("fake-new-secret")) } throws: { ($0 as? VaultError)?.code == .corrupted }
        #expect(try fixture.contents() == before)
    }

    /// A client in the middle of a rotation waits until it is settled.
    @Test func aClientBeingRotatedIsNotChanged() throws {
        let fixture = try Fixture()
        try fixture.populate()
        _ = try fixture.vault.prepareRotation(of: orders, mode: .chosen, secret: ClientSecret("fake-orders-pending"))
        var change = ClientChange(try fixture.vault.vault.client(orders))
        change.name = try Name("orders-2")
        #expect { try fixture.vault.updateClient(orders, to: change) } throws: { ($0 as? VaultError)?.code == .conflict }
    }

    /// Adding and changing through the broker asks the IdP first: a refusal stores nothing, and
    /// the token that proved the secret is the first one served.
    @Test(arguments: Backend.all) func theBrokerChecksWithTheIdPBeforeItWrites(backend: Backend) async throws {
        let idp = try IdP()
        let fixture = try Fixture(backend)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        let broker = try TokenBroker(vault)
        let basic = try ClientRef("r1/basic")

        await #expect { try await broker.addClient(basic, ClientSettings(clientID: "broker-svc"), secret: ClientSecret("fake-wrong")) } throws: { Self.isRefusal($0) }
        #expect(throws: VaultError.self) { try fixture.vault.vault.client(basic) }

        try await broker.addClient(basic, ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        #expect(try await idp.tokenRequests() == 2)
        #expect(try await broker.token(for: basic).source == .cache)
        #expect(try await idp.tokenRequests() == 2)
        let added = try #require(try fixture.vault.events(client: basic).first { $0.action == "client.added" })
        #expect(added.detail.hasSuffix("verified with a token request"))

        // A wrong new client_id is refused, and the client stays as it was.
        let before = try fixture.contents()
        var change = ClientChange(try fixture.vault.vault.client(basic))
        change.settings.clientID = "post-svc"
        await #expect { try await broker.updateClient(basic, to: change) } throws: { Self.isRefusal($0) }
        #expect(try fixture.contents() == before)

        // The right one with its secret is stored, and its token served from the cache.
        change.settings.authMethod = .clientSecretPost
        let update = try await broker.updateClient(basic, to: change, secret: ClientSecret(IdP.postSecret))
        #expect(update.verified && update.client.clientID == "post-svc" && update.client.secretVersion == 2)
        let requests = try await idp.tokenRequests()
        #expect(try await broker.token(for: basic).source == .cache)
        #expect(try await idp.tokenRequests() == requests)

        // Unchecked, on request: nothing is asked.
        change.settings.scopes = ["profile"]
        #expect(try await broker.updateClient(basic, to: change, verify: false).verified == false)
        #expect(try await idp.tokenRequests() == requests)
    }
}
