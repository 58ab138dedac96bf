import Foundation
import CloakroomTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `cloak realm sync` and the multi-realm views against a real cloak-idp.
@Suite(.serialized) struct RealmSyncTests {
    static func json(_ outcome: Outcome) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    static func plan(_ outcome: Outcome) -> [String: String] {
        let clients = (json(outcome)["clients"] as? [[String: Any]]) ?? []
        return Dictionary(uniqueKeysWithValues: clients.map { ($0["client_id"] as? String ?? "", $0["action"] as? String ?? "") })
    }

    /// Regenerates `clientID`'s secret at the IdP behind cloak's back (as an admin would in the
    /// console); returns the new secret.
    @discardableResult
    static func regenerate(_ idp: IdP, _ clientID: String) async throws -> String {
        func call(_ method: String, _ path: String, token: String? = nil, form: String? = nil) async throws -> Data {
            var request = URLRequest(url: URL(string: idp.baseURL + path)!)
            request.httpMethod = method
            if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
            if let form {
                request.httpBody = Data(form.utf8)
                request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
            }
            return try await URLSession.shared.data(for: request).0
        }
        let tokenBody = try await call("POST", "/realms/r1/protocol/openid-connect/token",
                                       form: "grant_type=client_credentials&client_id=rot-admin&client_secret=\(RotationTests.adminSecret)")
        let token = try #require((try JSONSerialization.jsonObject(with: tokenBody) as? [String: Any])?["access_token"] as? String)
        let found = try await call("GET", "/admin/realms/r1/clients?clientId=\(clientID)", token: token)
        let uuid = try #require(((try JSONSerialization.jsonObject(with: found) as? [[String: Any]])?.first?["id"]) as? String)
        let regenerated = try await call("POST", "/admin/realms/r1/clients/\(uuid)/client-secret", token: token)
        return try #require((try JSONSerialization.jsonObject(with: regenerated) as? [String: Any])?["value"] as? String)
    }

    @Test func syncPlansThenAddsAndUpdatesWithoutEverPrintingASecret() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.baseURL + "/realms/r1/protocol/openid-connect/token"])
        try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "r1/admin", "--client-id", "rot-admin", "--secret-stdin"], stdin: RotationTests.adminSecret)
        try sandbox.ok("realm", "update", "r1", "--admin-client", "r1/admin")
        // The admin token it fetches is cached and logged like any other; the clients are untouched.
        let before = try sandbox.ok("client", "list", "--json").stdout

        let dryRun = try sandbox.ok("realm", "sync", "r1", "--dry-run", "--json")
        RotationTests.expectNoSecrets(dryRun)
        // Confidential clients with service accounts only: not `pub`, not Keycloak's built-in ones.
        #expect(Self.plan(dryRun) == ["orders-svc": "add", "billing-svc": "add", "rot-viewer": "add", "rot-admin": "unchanged"], "\(dryRun)")
        #expect(try sandbox.ok("client", "list", "--json").stdout == before, "a dry run changes no client")

        let synced = try sandbox.ok("realm", "sync", "r1", "--match", "*-svc")
        RotationTests.expectNoSecrets(synced)
        #expect(synced.stdout.contains("r1/orders-svc") && synced.stderr.contains("2 added"), "\(synced)")
        #expect(try sandbox.tokenJSON("r1/orders-svc").0.status == 0)
        #expect(try sandbox.tokenJSON("r1/billing-svc").0.status == 0)
        #expect(try sandbox.run(["client", "show", "r1/rot-viewer"]).status == 3, "--match kept it out")

        // A secret changed at the IdP behind cloak's back: sync takes the new one as version 2.
        try await Self.regenerate(idp, "orders-svc")
        #expect(try sandbox.run(["token", "r1/orders-svc", "--refresh"]).status == 11)
        let again = try sandbox.ok("realm", "sync", "r1", "--match", "orders-*", "--json")
        #expect(Self.plan(again) == ["orders-svc": "update"], "\(again)")
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders-svc") == 2)
        #expect(try sandbox.tokenJSON("r1/orders-svc", ["--refresh"]).0.status == 0)
        #expect(try sandbox.ok("doctor").status == 0)

        // The multi-realm view: clients, oldest secret, rotations due, last token fetched.
        try sandbox.ok("client", "update", "r1/billing-svc", "--rotate-every", "1m")
        let realms = try sandbox.ok("realm", "list", "--json")
        let realm = try #require((try JSONSerialization.jsonObject(with: Data(realms.stdout.utf8)) as? [[String: Any]])?.first)
        #expect(realm["clients"] as? Int == 3)
        #expect(realm["rotations_due"] as? Int == 0)
        #expect((realm["oldest_secret_at"] as? String)?.hasSuffix("Z") == true)
        #expect((realm["last_token_fetched_at"] as? String)?.hasSuffix("Z") == true)
        let filtered = try sandbox.ok("client", "list", "--match", "*-svc", "--json")
        let names = ((try JSONSerialization.jsonObject(with: Data(filtered.stdout.utf8)) as? [[String: Any]]) ?? []).compactMap { $0["client"] as? String }
        #expect(names == ["r1/billing-svc", "r1/orders-svc"])
    }

    /// On Keycloak 26.8+, reading a secret needs manage-clients: a view-clients admin is refused,
    /// the message names the role, and nothing is imported.
    @Test func syncWithoutTheRoleToReadSecretsImportsNothing() async throws {
        let configuration = RotationTests.configuration.replacingOccurrences(of: #"{"realms":["#, with: #"{"keycloakVersion":"26.8","realms":["#)
        let idp = try IdP(configuration: configuration)
        let sandbox = try RotationTests.sandbox(idp, admin: "rot-viewer", adminSecret: RotationTests.viewerSecret)
        let before = try sandbox.ok("client", "list", "--json").stdout
        let refused = try sandbox.run(["realm", "sync", "r1"])
        #expect(refused.status == 15, "\(refused)")
        #expect(refused.stderr.contains("manage-clients"), "\(refused)")
        RotationTests.expectNoSecrets(refused)
        #expect(try sandbox.ok("client", "list", "--json").stdout == before)
    }
}
