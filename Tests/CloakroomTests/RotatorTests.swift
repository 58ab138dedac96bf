import Foundation
import CloakroomHTTP
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

    /// A chosen secret's step to 'pushed' has no transaction of its own, but the audit log has it
    /// either way: committed with the promote when the IdP accepts the new secret, and before the
    /// old secret is put back when it refuses it.
    @Test(arguments: Backend.all, [true, false])
    func thePushIsInTheAuditLogWhetherTheIdPAcceptsTheSecretOrNot(backend: Backend, accepted: Bool) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let (rotator, fixture) = try rotator(idp, SecretRotator.Options(), backend: backend)
        let orders = try ClientRef("r1/orders")
        if !accepted {
            try await idp.fault(#"{"fault":"status","status":401,"route":"token","client_id":"orders-svc","count":3}"#)
        }
        do {
            _ = try await rotator.rotate(orders)
            #expect(accepted)
        } catch let error as RotationError {
            #expect(!accepted && error.kind == .failed, "\(error)")
        }
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        let steps = try vault.events(client: orders).map(\.action).filter { $0.hasPrefix("rotation.") }
        #expect(steps == (accepted ? ["rotation.prepared", "rotation.pushed", "rotation.verified", "rotation.promoted"]
                                   : ["rotation.prepared", "rotation.pushed", "rotation.failed"]))
        #expect(try vault.openRotations().isEmpty)
        #expect((try vault.currentSecret(of: orders).testValue == Self.ordersSecret) == !accepted, "a new secret only if accepted")
        #expect(try vault.verifyAuditLog().isIntact)
    }

    /// The client's id at the IdP is looked up once, remembered with a write the first rotation
    /// makes anyway (no write of its own), and used by the next rotation without a lookup. The lookup
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

    /// The schedule's rotations (`run(.due, …)`) of several processes sharing a vault — agents on
    /// several hosts of a team vault — given the same due clients at once: each client is rotated
    /// by exactly one, whichever takes its lock first; the others skip it, whether it is being
    /// rotated or was rotated already.
    @Test(arguments: Backend.all) func rotatorsSharingAVaultRotateEachDueClientOnce(backend: Backend) async throws {
        let names = (0..<8).map { "c\($0)" }
        let clients = names.map { #"{"clientId":"\#($0)-svc","secret":"fake-lib-\#($0)-0000"}"# }.joined(separator: ",")
        let idp = try IdP(configuration: """
            {"realms":[{"realm":"r1","clients":[\(clients),
              {"clientId":"rot-admin","secret":"\(Self.adminSecret)","serviceAccountRoles":{"clients":{"realm-management":["manage-clients"]}}}]}]}
            """)
        let fixture = try Fixture(backend)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/admin"), ClientSettings(clientID: "rot-admin"), secret: ClientSecret(Self.adminSecret))
        _ = try fixture.vault.updateRealm(Name("r1")) { $0.adminClient = try ClientRef("r1/admin") }
        let refs = try names.map { try ClientRef("r1/\($0)") }
        for (ref, name) in zip(refs, names) {
            try fixture.vault.addClient(ref, ClientSettings(clientID: "\(name)-svc"), secret: ClientSecret("fake-lib-\(name)-0000"))
        }
        try fixture.vault.setRotationInterval(.seconds(3600), realm: Name("r1"))
        // Two hours on, for the schedule and for what the rotations record: every client is due, once.
        let later: @Sendable () -> Date = { Date().addingTimeInterval(7200) }
        var options = SecretRotator.Options()
        options.clock = later
        // Where the steps run: on SQLite, an event loop (the answers resume where they arrive);
        // on PostgreSQL never, where a lock's release waits for an event loop.
        let threads = Mutex<Set<Bool>>([])
        options.checkpoint = { _, _ in threads.withLock { _ = $0.insert(EventLoopExecutor.isCurrentThreadAnEventLoop) } }
        let rotators = try (0..<3).map { _ in
            let vault = try Vault.open(at: fixture.path, clock: later).unlock(with: [.keyFile(fixture.keyFile)])
            return SecretRotator(broker: try TokenBroker(vault), options: options)
        }
        let reports = try await withThrowingTaskGroup(of: [SecretRotator.Report].self) { group in
            for (index, rotator) in rotators.enumerated() {
                // Two in the same order (they meet on every client), one in the reverse.
                let order = index == 2 ? Array(refs.reversed()) : refs
                group.addTask { try await rotator.run(.due, on: order, parallel: 4, perRealm: 4) }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for ref in refs {
            let results = reports.filter { $0.client == ref }.map { try? $0.result.get().result }
            #expect(results.count == 3)
            #expect(results.filter { $0 == .rotated }.count == 1, "\(ref): \(results)")
            #expect(results.filter { $0 == .skipped }.count == 2, "\(ref): \(results)")
            #expect(try fixture.vault.vault.rotationStatus(of: ref).secretVersion == 2)
        }
        #expect(try await idp.requests("admin.client") == refs.count, "one PUT per client (found by a search, not read by id)")
        #expect(threads.withLock { $0 } == [backend == .sqlite], "on an event loop: \(threads.withLock { $0 })")
        // Nothing is due any more: a second round rotates nothing, and asks the IdP nothing.
        let again = try await rotators[0].run(.due, on: refs)
        #expect(again.allSatisfy { (try? $0.result.get().result) == .skipped })
        #expect(try await idp.requests("admin.client") == refs.count)
    }

    /// A bulk run's writes share transactions (`GroupCommit`), each in a savepoint of its own:
    /// writes that arrive while the vault's queue is busy are committed together, and one of them
    /// that fails undoes only itself — its change and its audit event — while the others keep
    /// theirs and the audit chain stays whole. (SQLite: on PostgreSQL a batch holds its clients'
    /// locks, and these writes are ones a rotation would not make.)
    @Test func aFailingWriteInAGroupCommitUndoesOnlyItself() async throws {
        let fixture = try Fixture(.sqlite)
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: "https://idp.example.test/token"))
        let refs = try (0..<12).map { try ClientRef("r1/c\($0)") }
        for (index, ref) in refs.enumerated() {
            try fixture.vault.addClient(ref, ClientSettings(clientID: "c\(index)-svc"), secret: ClientSecret("fake-batch-\(index)-0000"))
        }
        let events = try fixture.vault.verifyAuditLog().eventCount
        let access = VaultAccess(try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]))
        let commits = GroupCommit()
        // The queue is held while the writes arrive, so that they meet in one batch.
        let gate = DispatchSemaphore(value: 0)
        access.submit { _ in gate.wait() }
        let failed = await withTaskGroup(of: Int?.self) { group in
            for (index, ref) in refs.enumerated() {
                group.addTask {
                    do {
                        try await commits.write(durable: index.isMultiple(of: 3), clientRowID: Int64(index), in: access) { vault in
                            try vault.setRotationInterval(.seconds(3600), of: ref)
                            if index == 5 { throw VaultError(.conflict, "refused on purpose") }
                        }
                        return nil
                    } catch {
                        return index
                    }
                }
            }
            try? await Task.sleep(for: .milliseconds(200))
            gate.signal()
            return await group.reduce(into: [Int]()) { if let index = $1 { $0.append(index) } }
        }
        #expect(failed == [5])
        let reopened = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        for (index, ref) in refs.enumerated() {
            #expect(try reopened.vault.rotationStatus(of: ref).rotateEvery == (index == 5 ? nil : Duration.seconds(3600)), "\(ref)")
        }
        let audit = try reopened.verifyAuditLog()
        #expect(audit.isIntact && audit.eventCount == events + refs.count - 1)
    }
}
