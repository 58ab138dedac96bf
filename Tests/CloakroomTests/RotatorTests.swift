import Foundation
import CloakroomTestSupport
import Synchronization
import Testing
@testable import Cloakroom

/// The library's `SecretRotator` against a real cloak-idp on 127.0.0.1: the steps it reports, and
/// that a new secret reaches nothing but the IdP and the vault's sealed columns.
@Suite(.serialized) struct RotatorTests {
    static let ordersSecret = "fake-lib-orders-0000"
    static let adminSecret = "fake-lib-admin-0000"
    static let configuration = """
        {"realms":[{"realm":"r1","clients":[
          {"clientId":"orders-svc","secret":"\(ordersSecret)"},
          {"clientId":"rot-admin","secret":"\(adminSecret)","serviceAccountRoles":{"clients":{"realm-management":["manage-clients"]}}}]}]}
        """

    /// Realm r1 at `idp` with its admin client r1/admin and the client r1/orders.
    func rotator(_ idp: IdP, _ options: SecretRotator.Options, backend: Backend = .sqlite) throws -> (SecretRotator, Fixture) {
        let fixture = try Fixture(backend)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/admin"), ClientSettings(clientID: "rot-admin"), secret: ClientSecret(Self.adminSecret))
        try fixture.vault.addClient(ClientRef("r1/orders"), ClientSettings(clientID: "orders-svc"), secret: ClientSecret(Self.ordersSecret))
        _ = try fixture.vault.updateRealm(Name("r1")) { $0.adminClient = try ClientRef("r1/admin") }
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        var configuration = TokenBroker.Configuration()
        configuration.deadline = .seconds(5)
        return (SecretRotator(broker: try TokenBroker(vault, configuration: configuration), options: options), fixture)
    }

    static func text(_ secret: ClientSecret) -> String {
        secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
    }

    @Test(arguments: Backend.all, [false, true])
    func everyStepIsReportedInOrder(backend: Backend, serverGenerated: Bool) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let steps = Mutex<[String]>([])
        var options = SecretRotator.Options()
        options.serverGenerated = serverGenerated
        options.checkpoint = { step, client in steps.withLock { $0.append("\(client) \(step.rawValue)") } }
        let (rotator, fixture) = try rotator(idp, options, backend: backend)
        defer { withExtendedLifetime(fixture) {} }
        let outcome = try await rotator.rotate(ClientRef("r1/orders"))
        #expect(outcome.result == .rotated && outcome.fromVersion == 1 && outcome.toVersion == 2)
        let middle = serverGenerated ? "generated" : "sent"
        #expect(steps.withLock { $0 } == ["r1/orders prepared", "r1/orders \(middle)", "r1/orders pushed", "r1/orders verified"])
    }

    /// The client's id at the IdP is looked up once, remembered with the first rotation's
    /// prepare (no write of its own), and used by the next rotation without a lookup. The lookup
    /// returns the whole representation, so the first rotation reads nothing by id before its PUT.
    @Test(arguments: Backend.all) func theIdPsIdOfAClientIsLookedUpOnce(backend: Backend) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let (rotator, fixture) = try rotator(idp, SecretRotator.Options(), backend: backend)
        let orders = try ClientRef("r1/orders")
        #expect(try fixture.vault.identityAtIdP(of: orders).uuid == nil)
        _ = try await rotator.rotate(orders)
        let remembered = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]).identityAtIdP(of: orders).uuid
        #expect(remembered != nil)
        #expect(try await idp.requests("admin.clients") == 1)
        #expect(try await idp.requests("admin.client") == 1, "the first rotation's only call by id is its PUT")
        _ = try await rotator.rotate(orders)
        #expect(try await idp.requests("admin.clients") == 1)
        #expect(try await idp.requests("admin.client") == 3, "the second reads the client by its id, then PUTs")
    }

    /// The prepare runs while the IdP is asked where the client is: for a client the IdP does
    /// not have, the prepared journal is closed as failed, the current secret stays, nothing is
    /// left to settle, and the attempt is in the audit log.
    @Test(arguments: Backend.all) func aClientTheIdPLacksLeavesNothingOpen(backend: Backend) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let (rotator, fixture) = try rotator(idp, SecretRotator.Options(), backend: backend)
        let ghost = try ClientRef("r1/ghost")
        try fixture.vault.addClient(ghost, ClientSettings(clientID: "ghost-svc"), secret: ClientSecret("fake-ghost-0000"))
        await #expect { _ = try await rotator.rotate(ghost) } throws: { ($0 as? RotationError)?.kind == .unknownAtIdP }
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        #expect(try vault.openRotations().isEmpty)
        #expect(try vault.currentSecret(of: ghost).testValue == "fake-ghost-0000")
        #expect(try vault.events(client: ghost).contains { $0.action == AuditAction.rotationFailed.rawValue })
        #expect(try await idp.requests("admin.client") == 0, "nothing was read or written by id")
    }

    /// The new secret is in the IdP and sealed in the vault, and nowhere else: not in the outcome,
    /// not in any audit event, not in an error's text, not in `description`s along the way.
    @Test(arguments: Backend.all, [false, true])
    func theNewSecretAppearsInNoOutcomeLogOrError(backend: Backend, serverGenerated: Bool) async throws {
        let idp = try IdP(configuration: Self.configuration)
        var options = SecretRotator.Options()
        options.serverGenerated = serverGenerated
        let (rotator, fixture) = try rotator(idp, options, backend: backend)
        defer { withExtendedLifetime(fixture) {} }
        let orders = try ClientRef("r1/orders")
        let outcome = try await rotator.rotate(orders)
        let secret = try rotator.broker.vault.blocking { Self.text(try $0.currentSecret(of: orders)) }
        #expect(secret != Self.ordersSecret && secret.count >= 16)
        // The IdP holds it: the broker gets a token with it.
        #expect(try await rotator.broker.token(for: "r1/orders", refresh: true).source == .idp)

        var seen = ["\(outcome)", String(reflecting: outcome), "\(outcome.notes)"]
        for event in try rotator.broker.vault.blocking({ try $0.events() }) {
            seen += ["\(event)", event.detail, event.command, event.action]
        }
        // A failure's text, too: a second rotation the IdP refuses.
        try await idp.fault(#"{"fault":"status","status":403,"route":"admin","count":10}"#)
        do {
            _ = try await rotator.rotate(orders)
            Issue.record("a rotation the admin API refuses must fail")
        } catch {
            seen += ["\(error)", String(reflecting: error)]
        }
        for text in seen {
            #expect(!text.contains(secret), "the new secret leaked into: \(text)")
        }
        // The raw file holds it only sealed.
        #expect(!(try fixture.contents()).contains(secret))
    }
}
