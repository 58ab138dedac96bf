import Foundation
import CloakroomTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `cloak rotate` against a real cloak-idp: the journaled state machine, crash safety at every
/// step boundary, the admin API's refusals, dual-secret realms and bulk rotation.
@Suite(.serialized) struct RotationTests {
    static let ordersSecret = "fake-rot-orders-0000"
    static let billingSecret = "fake-rot-billing-0000"
    static let adminSecret = "fake-rot-admin-0000"
    static let viewerSecret = "fake-rot-viewer-0000"

    /// Realm `r1` (plain Keycloak: a new secret replaces the old at once) and realm `r2` (with
    /// Keycloak's dual-secret rotation policy: the old secret stays valid for a grace period).
    static let configuration = """
        {"realms":[
          {"realm":"r1","clients":[
            {"clientId":"orders-svc","secret":"\(ordersSecret)"},
            {"clientId":"billing-svc","secret":"\(billingSecret)"},
            {"clientId":"rot-admin","secret":"\(adminSecret)","serviceAccountRoles":{"clients":{"realm-management":["manage-clients"]}}},
            {"clientId":"rot-viewer","secret":"\(viewerSecret)","serviceAccountRoles":{"clients":{"realm-management":["view-clients"]}}},
            {"clientId":"pub","publicClient":true}]},
          {"realm":"r2","secretRotation":{"expirationPeriod":2592000,"rotatedExpirationPeriod":3600},"clients":[
            {"clientId":"orders-svc","secret":"\(ordersSecret)"},
            {"clientId":"rot-admin","secret":"\(adminSecret)","serviceAccountRoles":{"clients":{"realm-management":["manage-clients"]}}}]}]}
        """

    /// A vault with realm r1 at `idp`, its admin client `r1/admin`, and `r1/orders`, `r1/billing`.
    static func sandbox(_ idp: IdP, realm: String = "r1", admin: String = "rot-admin", adminSecret: String = adminSecret) throws -> Sandbox {
        let sandbox = Sandbox()
        try populate(sandbox, idp, realm: realm, admin: admin, adminSecret: adminSecret)
        return sandbox
    }

    /// Fills `sandbox` (a new one, perhaps on a file system of the test's own) as `sandbox(_:)` does.
    static func populate(_ sandbox: Sandbox, _ idp: IdP, realm: String = "r1", admin: String = "rot-admin", adminSecret: String = adminSecret) throws {
        try sandbox.ok("init")
        try sandbox.ok(contentsOf: ["realm", "add", realm, "--token-url", idp.baseURL + "/realms/\(realm)/protocol/openid-connect/token"])
        try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "\(realm)/admin", "--client-id", admin, "--secret-stdin"], stdin: adminSecret)
        try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "\(realm)/orders", "--client-id", "orders-svc", "--secret-stdin"], stdin: ordersSecret)
        if realm == "r1" {
            try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "r1/billing", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin"], stdin: billingSecret)
        }
        try sandbox.ok(contentsOf: ["realm", "update", realm, "--admin-client", "\(realm)/admin"])
    }

    /// Whether the IdP accepts `secret` for `clientID` right now (a direct request, not through cloak).
    static func accepts(_ idp: IdP, _ clientID: String, _ secret: String, realm: String = "r1") async throws -> Bool {
        var request = URLRequest(url: URL(string: idp.baseURL + "/realms/\(realm)/protocol/openid-connect/token")!)
        request.httpMethod = "POST"
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data("grant_type=client_credentials&client_id=\(clientID)&client_secret=\(secret)".utf8)
        let (_, response) = try await URLSession.shared.data(for: request)
        return (response as? HTTPURLResponse)?.statusCode == 200
    }

    static func secretVersion(_ sandbox: Sandbox, _ ref: String) throws -> Int? {
        let outcome = try sandbox.ok("client", "show", ref, "--json")
        return (try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])?["secret_version"] as? Int
    }

    /// No fixture secret appears in anything cloak printed.
    static func expectNoSecrets(_ outcome: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in [ordersSecret, billingSecret, adminSecret, viewerSecret] {
            #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret), "a secret leaked", sourceLocation: sourceLocation)
        }
    }

    @Test func rotationPushesVerifiesAndPromotes() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        #expect(try sandbox.tokenJSON("r1/orders").1["source"] as? String == "idp")

        let rotated = try sandbox.ok("rotate", "r1/orders")
        Self.expectNoSecrets(rotated)
        #expect(rotated.stderr.contains("v1 → v2"), "\(rotated)")
        #expect(rotated.stdout.isEmpty)
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 2)
        // The IdP refuses the old secret at once (no dual-secret policy in r1)…
        #expect(try await !Self.accepts(idp, "orders-svc", Self.ordersSecret))
        // …the cached token of the old secret was dropped, and the new secret works.
        let (after, json) = try sandbox.tokenJSON("r1/orders")
        #expect(json["source"] as? String == "idp", "\(after)")
        Self.expectNoSecrets(after)
        // Nothing is left half-done.
        #expect(try sandbox.ok("rotate", "--resume").stderr.contains("no interrupted rotations"))
        // Every step is in the audit log, and no secret is.
        let log = try sandbox.ok("log", "--client", "r1/orders", "--json")
        Self.expectNoSecrets(log)
        let actions = ((try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["action"] as? String }
        #expect(actions.filter { $0.hasPrefix("rotation.") } == ["rotation.prepared", "rotation.pushed", "rotation.verified", "rotation.promoted"], "\(log)")

        // Rolling back puts the first secret back at the IdP and in the vault.
        let rolledBack = try sandbox.ok("rotate", "--rollback", "r1/orders")
        #expect(rolledBack.stderr.contains("rolled back"), "\(rolledBack)")
        #expect(try await Self.accepts(idp, "orders-svc", Self.ordersSecret))
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 3)
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0)
    }

    /// SIGKILL right after each step commits; the next command settles the rotation so that the
    /// vault's current secret is the one the IdP accepts, and no secret is lost.
    @Test(arguments: [
        ("prepared", "token", false), ("pushed", "token", true), ("verified", "token", true),
        ("prepared", "resume", false), ("pushed", "resume", true), ("verified", "resume", true),
        ("prepared", "rotate", false), ("pushed", "rotate", true),
        // The PUT was answered but the journal still says prepared: the IdP holds the new secret.
        ("sent", "token", true), ("sent", "resume", true), ("sent", "rotate", true),
    ])
    func killedAtEveryStepIsSettledByTheNextCommand(step: String, next: String, finished: Bool) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        let killed = try sandbox.run(["rotate", "r1/orders"], environment: ["CLOAK_TEST_CRASH_AFTER": step])
        #expect(killed.status == 9, "expected SIGKILL after \(step): \(killed)")
        #expect(try await Self.accepts(idp, "orders-svc", Self.ordersSecret) == !finished, "the IdP's secret after \(step)")
        let doctor = try sandbox.ok("doctor")
        #expect(doctor.stdout.contains("rotation of r1/orders was interrupted"), "\(doctor)")

        switch next {
        case "token":
            let (outcome, json) = try sandbox.tokenJSON("r1/orders")
            #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        case "resume":
            let outcome = try sandbox.ok("rotate", "--resume")
            #expect(outcome.stderr.contains(finished ? "finished" : "undid"), "\(outcome)")
        default:
            let outcome = try sandbox.ok("rotate", "r1/orders")
            #expect(outcome.stderr.contains(finished ? "finished" : "rotated"), "\(outcome)")
        }
        // Settled: no open rotation, the vault's current secret works, and the version says which won.
        #expect(try sandbox.ok("rotate", "--resume").stderr.contains("no interrupted rotations"))
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0)
        // An undone rotation's pending version stays in the history (retired), so the rotation
        // after it is version 3.
        let expected = finished ? 2 : next == "rotate" ? 3 : 1
        #expect(try Self.secretVersion(sandbox, "r1/orders") == expected)
        #expect(try sandbox.ok("doctor").status == 0)
    }

    /// The server-generated mode's crash window: Keycloak made a secret and the process died
    /// before storing it. Resume reads it back through the admin API.
    @Test func serverGeneratedSecretIsReadBackAfterACrash() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        let killed = try sandbox.run(["rotate", "--server-generated", "r1/orders"], environment: ["CLOAK_TEST_CRASH_AFTER": "generated"])
        #expect(killed.status == 9, "\(killed)")
        #expect(try await !Self.accepts(idp, "orders-svc", Self.ordersSecret))
        let resumed = try sandbox.ok("rotate", "--resume", "r1/orders")
        #expect(resumed.stderr.contains("finished"), "\(resumed)")
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0)
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 2)
    }

    @Test func aRefusedNewSecretIsUndoneAtTheIdP() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        // Every verify attempt is refused; the old secret, once put back, is accepted again.
        try await idp.fault(#"{"fault":"status","status":401,"route":"token","client_id":"orders-svc","count":3}"#)
        let outcome = try sandbox.run(["rotate", "r1/orders"])
        #expect(outcome.status == 16, "\(outcome)")
        #expect(outcome.stderr.contains("put back"), "\(outcome)")
        Self.expectNoSecrets(outcome)
        #expect(try await Self.accepts(idp, "orders-svc", Self.ordersSecret))
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 1)
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
    }

    @Test func idpDownBetweenPushAndVerifyKeepsBothSecretsUntilResumed() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        try await idp.fault(#"{"fault":"status","status":503,"route":"token","client_id":"orders-svc"}"#)
        let outcome = try sandbox.run(["rotate", "r1/orders"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 17, "\(outcome)")
        #expect(outcome.stderr.contains("--resume"), "\(outcome)")
        #expect(try await !Self.accepts(idp, "orders-svc", Self.ordersSecret), "the push arrived")
        // Still down: resume says so and changes nothing.
        #expect(try sandbox.run(["rotate", "--resume"], environment: ["CLOAK_DEADLINE": "1"]).status == 17)
        try await idp.control("DELETE", "faults")
        #expect(try sandbox.ok("rotate", "--resume").stderr.contains("finished"))
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 2)
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
    }

    @Test func refusalsChangeNothing() async throws {
        let idp = try IdP(configuration: Self.configuration)
        // An admin client with view-clients only: the PUT is refused, naming the role.
        let viewer = try Self.sandbox(idp, admin: "rot-viewer", adminSecret: Self.viewerSecret)
        let refused = try viewer.run(["rotate", "r1/orders"])
        #expect(refused.status == 15, "\(refused)")
        #expect(refused.stderr.contains("manage-clients"), "\(refused)")
        #expect(try Self.secretVersion(viewer, "r1/orders") == 1)
        #expect(try await Self.accepts(idp, "orders-svc", Self.ordersSecret))

        let sandbox = try Self.sandbox(idp)
        // A client the IdP does not know.
        try sandbox.ok("client", "add", "--no-verify", "r1/ghost", "--client-id", "ghost-svc", "--secret-stdin", stdin: "fake-ghost-0000")
        let unknown = try sandbox.run(["rotate", "r1/ghost"])
        #expect(unknown.status == 3 && unknown.stderr.contains("ghost-svc"), "\(unknown)")
        // A public client has no secret to rotate.
        try sandbox.ok("client", "add", "--no-verify", "r1/pub", "--client-id", "pub", "--secret-stdin", stdin: "fake-pub-0000")
        let publicClient = try sandbox.run(["rotate", "r1/pub"])
        #expect(publicClient.status == 16 && publicClient.stderr.contains("public"), "\(publicClient)")
        // Options out of range are usage errors, before anything is read or sent.
        for options in [["--length", "21"], ["--length", "256"], ["--parallel", "0"]] {
            let usage = try sandbox.run(["rotate", "r1/orders"] + options)
            #expect(usage.status == 2 && usage.stdout.isEmpty, "\(usage)")
        }
        // A realm without an admin client.
        try sandbox.ok("realm", "update", "r1", "--no-admin-client")
        let unconfigured = try sandbox.run(["rotate", "r1/orders"])
        #expect(unconfigured.status == 15 && unconfigured.stderr.contains("--admin-client"), "\(unconfigured)")
        for ref in ["r1/ghost", "r1/pub", "r1/orders"] { #expect(try Self.secretVersion(sandbox, ref) == 1) }
        #expect(try sandbox.ok("doctor").status == 0)
    }

    /// The admin URL, CA file, http policy and admin client decide where secrets and admin tokens
    /// go: edited outside cloak, the realm is not used (not a token, not a rotation) until set again.
    @Test(arguments: [
        "UPDATE realms SET admin_url = 'https://attacker.example.test/admin/realms/r1'",
        "UPDATE realms SET ca_file = '/tmp/attacker-ca.pem'",
        "UPDATE realms SET allow_http = 1",
        "UPDATE realms SET admin_client_id = NULL",
    ])
    func realmSettingsEditedOutsideCloakAreRefused(edit: String) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        _ = try RawVault.execute(sandbox.vault, edit)
        try await idp.control("DELETE", "stats")
        let token = try sandbox.run(["token", "r1/orders", "--refresh"])
        #expect(token.status == 6 && token.stderr.contains("changed outside cloak"), "\(token)")
        let rotate = try sandbox.run(["rotate", "r1/orders"])
        #expect(rotate.status == 6, "\(rotate)")
        #expect(try await idp.control("GET", "stats")["total"] as? Int == 0, "nothing reached any server")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("realm r1"), "\(doctor)")
        // A rekey would re-authenticate the edit with the new key: refused, and nothing changed.
        let before = try sandbox.contents
        #expect(try sandbox.run(["rekey"]).status == 6)
        #expect(try sandbox.contents == before)
        // Setting them again through cloak re-authenticates them.
        try sandbox.ok("realm", "update", "r1", "--admin-client", "r1/admin", "--no-ca-file", "--no-allow-insecure-http",
                       "--admin-url", idp.baseURL + "/admin/realms/r1")
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0)
        #expect(try sandbox.ok("doctor").status == 0)
    }

    /// Keycloak answers a lost optimistic-lock race with 409 (or 500): the PUT is tried again.
    @Test func optimisticLockAnswersAreRetried() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        try await idp.fault(#"{"fault":"status","status":409,"route":"admin.client","method":"PUT","count":2}"#)
        try await idp.fault(#"{"fault":"status","status":500,"route":"admin.clients","method":"GET","count":1}"#)
        let outcome = try sandbox.ok("rotate", "r1/orders")
        #expect(outcome.stderr.contains("v1 → v2"), "\(outcome)")
        // Every injected failure was met, and answered by trying again.
        let byStatus = try await idp.control("GET", "stats")["by_status"] as? [String: Int]
        #expect(byStatus?["409"] == 2 && byStatus?["500"] == 1, "\(byStatus ?? [:])")
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
    }

    @Test func twoRotationsOfOneClientAtOnceTakeTurns() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        // Slow the PUT so the two overlap.
        try await idp.fault(#"{"fault":"latency","delay_ms":400,"route":"admin.client","method":"PUT"}"#)
        async let first = Task.detached { try sandbox.run(["rotate", "r1/orders"]) }.value
        async let second = Task.detached { try sandbox.run(["rotate", "r1/orders"]) }.value
        let outcomes = try await [first, second]
        for outcome in outcomes { #expect(outcome.status == 0, "\(outcome)") }
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 3)
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
        #expect(try sandbox.ok("doctor").status == 0)
    }

    @Test func dualSecretRealmKeepsTheOldSecretUntilAskedToDropIt() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp, realm: "r2")
        let kept = try sandbox.ok("rotate", "--server-generated", "r2/orders")
        #expect(kept.stderr.contains("keeps the old secret valid"), "\(kept)")
        #expect(try await Self.accepts(idp, "orders-svc", Self.ordersSecret, realm: "r2"))
        #expect(try sandbox.tokenJSON("r2/orders").0.status == 0)

        let dropped = try sandbox.ok("rotate", "--server-generated", "--invalidate-rotated", "r2/orders")
        #expect(dropped.stderr.contains("dual validity was ended"), "\(dropped)")
        #expect(try Self.secretVersion(sandbox, "r2/orders") == 3)
        #expect(try sandbox.tokenJSON("r2/orders").0.status == 0)
    }

    @Test func bulkRotationPlansReportsAndKeepsGoingPastFailures() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        try sandbox.ok("client", "add", "--no-verify", "r1/ghost", "--client-id", "ghost-svc", "--secret-stdin", stdin: "fake-ghost-0000")
        try sandbox.ok("client", "update", "r1/orders", "--rotate-every", "30d")

        let plan = try sandbox.ok("rotate", "--realm", "r1", "--all", "--dry-run", "--json")
        let planned = (try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])?["clients"] as? [[String: Any]]
        // In the order the run takes them: the admin client last (issue 13, item 16).
        #expect(planned?.compactMap { $0["client"] as? String } == ["r1/billing", "r1/ghost", "r1/orders", "r1/admin"])
        #expect((planned?.last?["reason"] as? String)?.contains("last and alone") == true, "\(plan)")
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 1, "a dry run changes nothing")
        #expect(try sandbox.ok("rotate", "--due").stderr.contains("nothing is due"))

        let run = try sandbox.run(["rotate", "--realm", "r1", "--all", "--parallel", "2", "--json", "--yes"])
        #expect(run.status == 16, "\(run)")
        Self.expectNoSecrets(run)
        let report = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let results = Dictionary(uniqueKeysWithValues: ((report?["results"] as? [[String: Any]]) ?? []).map { ($0["client"] as? String ?? "", $0["result"] as? String ?? "") })
        #expect(results == ["r1/admin": "rotated", "r1/billing": "rotated", "r1/ghost": "failed", "r1/orders": "rotated"], "\(run)")
        // A failure carries the library's stable code: the ghost is unknown at the IdP.
        let codes = Dictionary(uniqueKeysWithValues: ((report?["results"] as? [[String: Any]]) ?? []).map { ($0["client"] as? String ?? "", $0["code"] as? String ?? "-") })
        #expect(codes == ["r1/admin": "-", "r1/billing": "-", "r1/ghost": "unknown_at_idp", "r1/orders": "-"], "\(run)")
        for ref in ["r1/admin", "r1/billing", "r1/orders"] {
            #expect(try Self.secretVersion(sandbox, ref) == 2)
            #expect(try sandbox.tokenJSON(ref, ["--refresh"]).0.status == 0)
        }
    }

    /// `rotate --due` leaves a client another process is rotating to it (it holds the client's
    /// lock): reported as skipped, counted apart from the rotated ones, and exit 0.
    @Test func aDueClientAnotherProcessIsRotatingIsSkipped() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox(idp)
        for ref in ["r1/orders", "r1/billing"] {
            try sandbox.ok("client", "update", ref, "--rotate-every", "1h")
        }
        try await idp.fault(#"{"fault":"latency","delay_ms":3000,"route":"admin","count":1}"#)
        let holder = Task.detached { try sandbox.run(["rotate", "r1/orders"]) }
        for _ in 0..<200 where try await idp.arrivals("admin.clients") == 0 { try await Task.sleep(for: .milliseconds(20)) }
        // Two hours on: both are due.
        let due = try sandbox.run(["rotate", "--due", "--json"], environment: ["CLOAK_TEST_CLOCK_OFFSET": "7200"])
        #expect(due.status == 0, "\(due)")
        let report = try JSONSerialization.jsonObject(with: Data(due.stdout.utf8)) as? [String: Any]
        let results = Dictionary(uniqueKeysWithValues: ((report?["results"] as? [[String: Any]]) ?? []).map { ($0["client"] as? String ?? "", $0["result"] as? String ?? "") })
        #expect(results == ["r1/billing": "rotated", "r1/orders": "skipped"] && report?["skipped"] as? Int == 1 && report?["rotated"] as? Int == 1, "\(due)")
        #expect(try await holder.value.status == 0)
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 2, "rotated once, by the holder")
    }

}
