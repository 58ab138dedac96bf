import AsyncHTTPClient
import CloakIdP
import NIOHTTP1
import Testing

@Suite("Admin API: roles per call, realms, secrets")
struct AdminAPITests {
    enum Call: String, CaseIterable, Sendable {
        case list = "GET /clients?clientId=broker-svc"
        case read = "GET /clients/{id}"
        case update = "PUT /clients/{id}"
        case readSecret = "GET /clients/{id}/client-secret"
        case regenerate = "POST /clients/{id}/client-secret"
        case readRotated = "GET /clients/{id}/client-secret/rotated"
        case deleteRotated = "DELETE /clients/{id}/client-secret/rotated"
        case serviceAccount = "GET /clients/{id}/service-account-user"
        case unknownClient = "GET /clients/{unknown}"

        func send(_ harness: Harness, as caller: String, id: String) async throws -> Reply {
            let base = "/admin/realms/r1/clients"
            switch self {
            case .list: return try await harness.admin(.GET, base + "?clientId=broker-svc", as: caller)
            case .read: return try await harness.admin(.GET, "\(base)/\(id)", as: caller)
            case .update: return try await harness.admin(.PUT, "\(base)/\(id)", as: caller, body: #"{"description":"x"}"#)
            case .readSecret: return try await harness.admin(.GET, "\(base)/\(id)/client-secret", as: caller)
            case .regenerate: return try await harness.admin(.POST, "\(base)/\(id)/client-secret", as: caller)
            case .readRotated: return try await harness.admin(.GET, "\(base)/\(id)/client-secret/rotated", as: caller)
            case .deleteRotated: return try await harness.admin(.DELETE, "\(base)/\(id)/client-secret/rotated", as: caller)
            case .serviceAccount: return try await harness.admin(.GET, "\(base)/\(id)/service-account-user", as: caller)
            case .unknownClient: return try await harness.admin(.GET, "\(base)/00000000-0000-0000-0000-000000000000", as: caller)
            }
        }
    }

    /// §4.1's table: expected status per caller. "[]" marks a 200 with an empty list.
    static let table: [(caller: String, expected: [Call: String])] = [
        ("kc-admin", [.list: "200", .read: "200", .update: "204", .readSecret: "200", .regenerate: "200", .readRotated: "404",
                      .deleteRotated: "204", .serviceAccount: "200", .unknownClient: "404"]),
        ("viewer", [.list: "200", .read: "200", .update: "403", .readSecret: "200", .regenerate: "403", .readRotated: "404",
                    .deleteRotated: "500", .serviceAccount: "200", .unknownClient: "404"]),
        ("querier", [.list: "[]", .read: "403", .update: "403", .readSecret: "403", .regenerate: "403", .readRotated: "403",
                     .deleteRotated: "500", .serviceAccount: "403", .unknownClient: "404"]),
        ("noroles", [.list: "403", .read: "403", .update: "403", .readSecret: "403", .regenerate: "403", .readRotated: "403",
                     .deleteRotated: "500", .serviceAccount: "403", .unknownClient: "403"]),
        ("master-admin", [.list: "200", .read: "200", .update: "204", .readSecret: "200", .regenerate: "200", .readRotated: "404",
                          .deleteRotated: "204", .serviceAccount: "200", .unknownClient: "404"]),
        ("r1-operator", [.list: "200", .read: "200", .update: "403", .readSecret: "200", .regenerate: "403", .readRotated: "404",
                         .deleteRotated: "500", .serviceAccount: "200", .unknownClient: "404"]),
        ("r2-admin", [.list: "403", .read: "403", .update: "403", .readSecret: "403", .regenerate: "403", .readRotated: "403",
                      .deleteRotated: "403", .serviceAccount: "403", .unknownClient: "403"]),
    ]

    static var cases: [RoleCase] {
        table.flatMap { row in Call.allCases.map { RoleCase(caller: row.caller, call: $0, expected: row.expected[$0]!) } }
    }

    struct RoleCase: Sendable, CustomTestStringConvertible {
        let caller: String
        let call: Call
        let expected: String
        var testDescription: String { "\(caller) \(call.rawValue) → \(expected)" }
    }

    @Test(arguments: cases)
    func rolesAreCheckedPerCall(_ roleCase: RoleCase) async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "broker-svc")
            let reply = try await roleCase.call.send(harness, as: roleCase.caller, id: id)
            if roleCase.expected == "[]" {
                #expect(reply.status == 200)
                #expect(reply.body == "[]")
            } else {
                #expect(String(reply.status) == roleCase.expected, "\(reply.body.prefix(120))")
            }
            if reply.status == 403 { #expect(reply.body == #"{"error":"HTTP 403 Forbidden"}"#) }
        }
    }

    @Test func masterAdminAdministersEveryRealm() async throws {
        try await withIdP { harness in
            let reply = try await harness.admin(.GET, "/admin/realms/r2/clients?clientId=other-svc", as: "master-admin")
            #expect(reply.json?.arrayValue?.count == 1)
            // The r1-only operator of master has no role on r2.
            #expect(try await harness.admin(.GET, "/admin/realms/r2/clients", as: "r1-operator").status == 403)
        }
    }

    @Test func accessBlockReflectsTheCaller() async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "broker-svc")
            let viewer = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)", as: "viewer")
            #expect(viewer.json?["access"] == ["view": true, "configure": false, "manage": false])
            let admin = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)")
            #expect(admin.json?["access"] == ["view": true, "configure": true, "manage": true])
            let keys = admin.json?.objectValue?.keys ?? []
            #expect(Array(keys.prefix(3)) == ["id", "clientId", "surrogateAuthRequired"])
            #expect(keys.last == "access")
        }
    }

    @Test func keycloak26_8MasksSecretsAndNeedsManageToReadThem() async throws {
        try await withIdP(Fixtures.configuration(compatibility: try Compatibility.keycloak("26.8"))) { harness in
            let id = try await harness.uuid(of: "broker-svc")
            let viewer = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)", as: "viewer")
            #expect(viewer.json?["secret"] == "**********")
            #expect(try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/client-secret", as: "viewer").status == 403)
            let admin = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/client-secret")
            #expect(admin.json?["value"] == .string(Fixtures.brokerSecret))
            let regenerated = try await harness.admin(.POST, "/admin/realms/r1/clients/\(id)/client-secret")
            #expect(regenerated.json?["value"]?.stringValue?.count == 86, "26.7+ generates 86 characters")
        }
    }

    @Test func malformedJSONIsRefusedBeforeTheRoleCheck() async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "broker-svc")
            for caller in ["kc-admin", "viewer"] {
                let reply = try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", as: caller, body: #"{"secret":"#)
                #expect(reply.status == 400)
                #expect(reply.body == #"{"error":"invalid_request","error_description":"Cannot parse the JSON"}"#)
            }
        }
    }

    @Test func partialUpdateKeepsOtherFields() async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "broker-svc")
            #expect(try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: #"{"description":"billing"}"#).status == 204)
            let client = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)").json
            #expect(client?["description"] == "billing")
            #expect(client?["secret"] == .string(Fixtures.brokerSecret))
            #expect(client?["serviceAccountsEnabled"] == true)
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200)
        }
    }

    @Test func searchIsCaseInsensitiveSortedAndPaginated() async throws {
        try await withIdP { harness in
            let all = try await harness.admin(.GET, "/admin/realms/r1/clients?clientId=E&search=true")
            let names = all.json?.arrayValue?.compactMap { $0["clientId"]?.stringValue } ?? []
            // Keycloak's built-in clients are listed too.
            #expect(names == ["account-console", "broker", "broker-svc", "noroles", "querier", "realm-management", "security-admin-console", "viewer"])
            let page = try await harness.admin(.GET, "/admin/realms/r1/clients?clientId=E&search=true&first=1&max=1")
            #expect(page.json?.arrayValue?.compactMap { $0["clientId"]?.stringValue } == ["broker"])
        }
    }

    @Test func issuedTokensOutliveTheSecretButNotTheirExpiry() async throws {
        try await withIdP { harness in
            let token = try await harness.accessToken(of: "kc-admin")
            let id = try await harness.uuid(of: "kc-admin")
            #expect(try await harness.admin(.POST, "/admin/realms/r1/clients/\(id)/client-secret", token: token).status == 200)
            // The secret changed; the token issued before still works until exp.
            #expect(try await harness.admin(.GET, "/admin/realms/r1/clients", token: token).status == 200)
            let moved = try await harness.send(.POST, "/_cloak-idp/clock", headers: [("Content-Type", "application/json")], body: #"{"advance_seconds":301}"#)
            #expect(moved.status == 200)
            #expect(try await harness.admin(.GET, "/admin/realms/r1/clients", token: token).status == 401)
        }
    }

    @Test func rotationPolicyKeepsTheOldSecretUntilItExpires() async throws {
        let policy = SecretRotationPolicy(expirationPeriod: 3600, rotatedExpirationPeriod: 600)
        try await withIdP(Fixtures.configuration(rotation: policy)) { harness in
            let id = try await harness.uuid(of: "broker-svc")
            let new = try await harness.admin(.POST, "/admin/realms/r1/clients/\(id)/client-secret").json?["value"]?.stringValue ?? ""
            #expect(try await harness.token("broker-svc", new).status == 200)
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200, "rotated secret still valid")
            let rotated = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/client-secret/rotated")
            #expect(rotated.body == #"{"type":"secret","value":"\#(Fixtures.brokerSecret)"}"#)
            let attributes = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)").json?["attributes"]
            #expect(attributes?["client.secret.expiration.time"] != nil)
            #expect(attributes?["client.secret.rotated.expiration.time"] != nil)

            _ = try await harness.send(.POST, "/_cloak-idp/clock", headers: [("Content-Type", "application/json")], body: #"{"advance_seconds":601}"#)
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 401, "rotated secret expired")
            #expect(try await harness.token("broker-svc", new).status == 200)

            _ = try await harness.send(.POST, "/_cloak-idp/clock", headers: [("Content-Type", "application/json")], body: #"{"advance_seconds":3000}"#)
            #expect(try await harness.token("broker-svc", new).status == 401, "primary secret expired")

            #expect(try await harness.admin(.DELETE, "/admin/realms/r1/clients/\(id)/client-secret/rotated", as: "master-admin").status == 204)
            #expect(try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/client-secret/rotated", as: "master-admin").status == 404)
        }
    }

    @Test func enablingServiceAccountsCreatesTheUser() async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "nosa")
            #expect(try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: #"{"serviceAccountsEnabled":true}"#).status == 204)
            let user = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/service-account-user")
            #expect(user.json?["username"] == "service-account-nosa")
            #expect(try await harness.token("nosa", Fixtures.nosaSecret).status == 200)
        }
    }

    @Test func makingAClientPublicClearsItsSecret() async throws {
        try await withIdP { harness in
            let id = try await harness.uuid(of: "broker-svc")
            #expect(try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: #"{"publicClient":true}"#).status == 204)
            let secret = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)/client-secret")
            #expect(secret.body == #"{"type":"secret"}"#)
        }
    }

    @Test func createAndDeleteClients() async throws {
        try await withIdP { harness in
            let created = try await harness.admin(.POST, "/admin/realms/r1/clients", body: #"{"clientId":"fresh","secret":"FreshSecret","serviceAccountsEnabled":true}"#)
            #expect(created.status == 201)
            #expect(created.header("Location")?.hasPrefix(harness.base + "/admin/realms/r1/clients/") == true)
            #expect(try await harness.token("fresh", "FreshSecret").status == 200)
            let duplicate = try await harness.admin(.POST, "/admin/realms/r1/clients", body: #"{"clientId":"fresh"}"#)
            #expect(duplicate.status == 409)
            let id = try await harness.uuid(of: "fresh")
            #expect(try await harness.admin(.DELETE, "/admin/realms/r1/clients/\(id)").status == 204)
            #expect(try await harness.token("fresh", "FreshSecret").status == 401)
        }
    }

    @Test func builtInClientsAreListedLikeKeycloaks() async throws {
        try await withIdP { harness in
            let r1 = try await harness.admin(.GET, "/admin/realms/r1/clients")
            let names = Set(r1.json?.arrayValue?.compactMap { $0["clientId"]?.stringValue } ?? [])
            #expect(names.isSuperset(of: ["account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"]))
            let master = try await harness.admin(.GET, "/admin/realms/master/clients", as: "master-admin")
            let masterNames = Set(master.json?.arrayValue?.compactMap { $0["clientId"]?.stringValue } ?? [])
            #expect(masterNames.isSuperset(of: ["r1-realm", "r2-realm", "master-realm", "admin-cli"]))
            let adminCLI = try await harness.form([("grant_type", "client_credentials"), ("client_id", "admin-cli")])
            #expect(adminCLI.body == #"{"error":"unauthorized_client","error_description":"Public client not allowed to retrieve service account"}"#)
        }
        var configuration = Fixtures.configuration()
        for index in configuration.realms.indices { configuration.realms[index].builtInClients = false }
        try await withIdP(configuration) { harness in
            let r1 = try await harness.admin(.GET, "/admin/realms/r1/clients")
            #expect(r1.json?.arrayValue?.count == 7)
        }
    }
}
