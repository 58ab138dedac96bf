import AsyncHTTPClient
import CloakIdP
import NIOHTTP1
import Testing

/// One row of the contract's §7 table: what to do first, the request, and what must come back.
struct ContractVector: Sendable, CustomTestStringConvertible {
    let number: Int
    let summary: String
    let status: Int
    /// The exact body, when the contract gives one.
    let body: String?
    let exchange: @Sendable (Harness) async throws -> Reply
    /// Further checks on the reply and on the server's state afterwards.
    let check: @Sendable (Harness, Reply) async throws -> Void

    init(
        _ number: Int,
        _ summary: String,
        status: Int,
        body: String? = nil,
        exchange: @escaping @Sendable (Harness) async throws -> Reply,
        check: @escaping @Sendable (Harness, Reply) async throws -> Void = { _, _ in }
    ) {
        self.number = number
        self.summary = summary
        self.status = status
        self.body = body
        self.exchange = exchange
        self.check = check
    }

    var testDescription: String { "#\(number) \(summary)" }
}

private let S = Fixtures.brokerSecret
private let wrongSecretBody = #"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#
private let invalidClientBody = #"{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}"#
private let forbiddenBody = #"{"error":"HTTP 403 Forbidden"}"#

/// The success body of #1 with the token left out: every field, in order (§1.1).
private func expectTokenSuccess(_ reply: Reply, scope: String = "profile email", idToken: Bool = false) {
    guard case .object(let object)? = reply.json else {
        Issue.record("not a JSON object: \(reply.body.prefix(80))")
        return
    }
    let keys = idToken
        ? ["access_token", "expires_in", "refresh_expires_in", "token_type", "id_token", "not-before-policy", "scope"]
        : ["access_token", "expires_in", "refresh_expires_in", "token_type", "not-before-policy", "scope"]
    #expect(object.keys == keys)
    #expect(object["expires_in"] == 300)
    #expect(object["refresh_expires_in"] == 0)
    #expect(object["token_type"] == "Bearer")
    #expect(object["not-before-policy"] == 0)
    #expect(object["scope"] == .string(scope))
    #expect(object["access_token"]?.stringValue.flatMap(claims(of:)) != nil)
}

/// Asserts that `secret` authenticates broker-svc (or is refused as a wrong secret).
private func expectSecret(_ harness: Harness, _ secret: String, works: Bool) async throws {
    let reply = try await harness.token("broker-svc", secret)
    if works {
        #expect(reply.status == 200)
    } else {
        #expect(reply.status == 401)
        #expect(reply.body == wrongSecretBody)
    }
}

enum ContractVectors {
    static let all: [ContractVector] = [
        ContractVector(1, "client_secret_post succeeds", status: 200, exchange: { try await $0.token("broker-svc", S) }) { _, reply in
            expectTokenSuccess(reply)
        },
        ContractVector(2, "client_secret_basic succeeds", status: 200, exchange: {
            try await $0.form([("grant_type", "client_credentials")], headers: [Harness.basic("broker-svc", S)])
        }) { _, reply in expectTokenSuccess(reply) },
        ContractVector(3, "Basic halves are form-URL-decoded", status: 200, exchange: { harness in
            let id = try await harness.uuid(of: "broker-svc")
            let put = try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: #"{"secret":"a+b%2F"}"#)
            #expect(put.status == 204)
            // base64("broker-svc:a%2Bb%252F"), built from the url-encoded secret.
            return try await harness.form([("grant_type", "client_credentials")], headers: [Harness.basic("broker-svc", "a+b%2F")])
        }) { _, reply in expectTokenSuccess(reply) },
        ContractVector(4, "wrong secret", status: 401, body: wrongSecretBody, exchange: { try await $0.token("broker-svc", "wrong") }),
        ContractVector(5, "unknown client", status: 401, body: invalidClientBody, exchange: { try await $0.token("nope", S) }),
        ContractVector(6, "disabled client", status: 401, body: invalidClientBody, exchange: { harness in
            let id = try await harness.uuid(of: "broker-svc")
            #expect(try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: #"{"enabled":false}"#).status == 204)
            return try await harness.token("broker-svc", S)
        }),
        ContractVector(7, "public client", status: 401,
            body: #"{"error":"unauthorized_client","error_description":"Public client not allowed to retrieve service account"}"#,
            exchange: { try await $0.form([("grant_type", "client_credentials"), ("client_id", "pub")]) }),
        ContractVector(8, "service accounts disabled", status: 401,
            body: #"{"error":"unauthorized_client","error_description":"Client not enabled to retrieve service account"}"#,
            exchange: { try await $0.token("nosa", Fixtures.nosaSecret) }),
        ContractVector(9, "grant_type missing", status: 400,
            body: #"{"error":"invalid_request","error_description":"Missing form parameter: grant_type"}"#,
            exchange: { try await $0.form([("client_id", "broker-svc"), ("client_secret", S)]) }),
        ContractVector(10, "grant_type unknown wins over wrong credentials", status: 400,
            body: #"{"error":"unsupported_grant_type","error_description":"Unsupported grant_type"}"#,
            exchange: { try await $0.form([("grant_type", "foo"), ("client_id", "broker-svc"), ("client_secret", "wrong")]) }),
        ContractVector(11, "unknown scope", status: 400,
            body: #"{"error":"invalid_scope","error_description":"Invalid scopes: unknown-scope"}"#,
            exchange: { try await $0.token("broker-svc", S, extra: [("scope", "unknown-scope")]) }),
        ContractVector(12, "scope=openid adds an id_token", status: 200, exchange: {
            try await $0.token("broker-svc", S, extra: [("scope", "openid")])
        }) { _, reply in
            expectTokenSuccess(reply, scope: "openid profile email", idToken: true)
            let idToken = reply.json?["id_token"]?.stringValue.flatMap(claims(of:))
            #expect(idToken?["typ"] == "ID")
            #expect(idToken?["aud"] == "broker-svc")
        },
        ContractVector(13, "duplicated parameter", status: 400,
            body: #"{"error":"invalid_request","error_description":"duplicated parameter"}"#,
            exchange: {
                try await $0.form([("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_id", "broker-svc"), ("client_secret", S)])
            }),
        ContractVector(14, "unknown realm at the token endpoint", status: 404, body: #"{"error":"Realm does not exist"}"#, exchange: {
            try await $0.form([("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", S)], to: "/realms/nope/protocol/openid-connect/token")
        }),
        ContractVector(15, "client by exact clientId", status: 200, exchange: {
            try await $0.admin(.GET, "/admin/realms/r1/clients?clientId=broker-svc")
        }) { _, reply in
            let list = reply.json?.arrayValue
            #expect(list?.count == 1)
            let client = list?.first
            #expect(client?["clientId"] == "broker-svc")
            #expect(client?["enabled"] == true)
            #expect(client?["publicClient"] == false)
            #expect(client?["serviceAccountsEnabled"] == true)
            #expect(client?["clientAuthenticatorType"] == "client-secret")
            #expect(client?["secret"] == .string(S))
            #expect(client?["attributes"]?["client.secret.creation.time"] == "1700000000")
            #expect(client?["id"]?.stringValue?.count == 36)
            #expect(reply.header("Content-Type") == "application/json;charset=UTF-8")
            #expect(reply.header("Cache-Control") == "no-cache")
        },
        ContractVector(16, "clientId lookup is case-sensitive", status: 200, body: "[]", exchange: {
            try await $0.admin(.GET, "/admin/realms/r1/clients?clientId=BROKER-svc")
        }),
        ContractVector(17, "search=true is a case-insensitive substring match", status: 200, exchange: {
            try await $0.admin(.GET, "/admin/realms/r1/clients?clientId=broker&search=true&first=0&max=10")
        }) { _, reply in
            #expect(reply.json?.arrayValue?.compactMap { $0["clientId"]?.stringValue }.contains("broker-svc") == true)
        },
        ContractVector(18, "read the secret", status: 200, body: #"{"type":"secret","value":"\#(S)"}"#, exchange: { harness in
            try await harness.admin(.GET, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret")
        }),
        ContractVector(19, "regenerate the secret; the old one is refused at once", status: 200, exchange: { harness in
            try await harness.admin(.POST, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret")
        }) { harness, reply in
            #expect(reply.json?["type"] == "secret")
            let secret = reply.json?["value"]?.stringValue ?? ""
            #expect(secret.count == 32 && secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            #expect(reply.header("Cache-Control") == nil)
            try await expectSecret(harness, S, works: false)
            try await expectSecret(harness, secret, works: true)
        },
        ContractVector(20, "PUT sets a chosen secret", status: 204, body: "", exchange: { harness in
            let id = try await harness.uuid(of: "broker-svc")
            var representation = try await harness.admin(.GET, "/admin/realms/r1/clients/\(id)").json?.objectValue ?? JSONObject()
            representation["secret"] = "Chosen-1"
            return try await harness.admin(.PUT, "/admin/realms/r1/clients/\(id)", body: JSONValue.object(representation).serialized)
        }) { harness, _ in
            try await expectSecret(harness, "Chosen-1", works: true)
            try await expectSecret(harness, S, works: false)
            let client = try await harness.admin(.GET, "/admin/realms/r1/clients?clientId=broker-svc").json?.arrayValue?.first
            #expect(client?["attributes"]?["client.secret.creation.time"] == "1700000000")
        },
        ContractVector(21, "no rotated secret without the feature", status: 404, body: #"{"error":"Client does not have a rotated secret"}"#, exchange: { harness in
            try await harness.admin(.GET, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret/rotated")
        }),
        ContractVector(22, "deleting the rotated secret is idempotent", status: 204, body: "", exchange: { harness in
            try await harness.admin(.DELETE, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret/rotated")
        }),
        ContractVector(23, "DELETE rotated without manage-clients is a 500 (§4.7)", status: 500,
            body: #"{"error":"unknown_error","error_description":"For more on this error consult the server log."}"#,
            exchange: { harness in
                try await harness.admin(.DELETE, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret/rotated", as: "viewer")
            }),
        ContractVector(24, "service-account user", status: 200, exchange: { harness in
            try await harness.admin(.GET, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/service-account-user")
        }) { _, reply in
            #expect(reply.json?["username"] == "service-account-broker-svc")
            #expect(reply.json?["enabled"] == true)
            #expect(reply.json?["id"]?.stringValue?.count == 36)
            #expect(reply.json?["access"] == nil)
        },
        ContractVector(25, "service-account user of a client without one", status: 400,
            body: #"{"error":"Service account not enabled for the client 'nosa'"}"#,
            exchange: { harness in
                try await harness.admin(.GET, "/admin/realms/r1/clients/\(try await harness.uuid(of: "nosa"))/service-account-user")
            }),
        ContractVector(26, "admin call without a token", status: 401, body: #"{"error":"HTTP 401 Unauthorized"}"#, exchange: {
            try await $0.send(.GET, "/admin/realms/r1/clients")
        }) { harness, reply in
            #expect(reply.header("WWW-Authenticate") == nil)
            let garbage = try await harness.admin(.GET, "/admin/realms/r1/clients", token: "garbage")
            #expect(garbage.status == 401)
            #expect(garbage.body == #"{"error":"HTTP 401 Unauthorized"}"#)
        },
        ContractVector(27, "regenerate with view-clients only", status: 403, body: forbiddenBody, exchange: { harness in
            try await harness.admin(.POST, "/admin/realms/r1/clients/\(try await harness.uuid(of: "broker-svc"))/client-secret", as: "viewer")
        }),
        ContractVector(28, "unknown client id", status: 404, body: #"{"error":"Could not find client"}"#, exchange: {
            try await $0.admin(.GET, "/admin/realms/r1/clients/00000000-0000-0000-0000-000000000000")
        }),
        ContractVector(29, "unknown realm in the admin API", status: 404, body: #"{"error":"Realm not found."}"#, exchange: {
            try await $0.admin(.GET, "/admin/realms/nope/clients", as: "master-admin")
        }),
        ContractVector(30, "token of another realm", status: 403, body: forbiddenBody, exchange: {
            try await $0.admin(.GET, "/admin/realms/r1/clients", as: "r2-admin")
        }),
    ]
}

@Suite("Contract §7 vectors over real HTTP")
struct ContractVectorTests {
    @Test(arguments: ContractVectors.all)
    func vector(_ vector: ContractVector) async throws {
        try await withIdP { harness in
            let reply = try await vector.exchange(harness)
            #expect(reply.status == vector.status, "#\(vector.number): \(reply.body.prefix(200))")
            if let body = vector.body { #expect(reply.body == body, "#\(vector.number)") }
            if harness.base.isEmpty == false, (1...14).contains(vector.number) {
                // Every token-endpoint response carries the cache headers, except the 404 of an
                // unknown realm, which Keycloak answers before the endpoint exists.
                if vector.number != 14 {
                    #expect(reply.header("Cache-Control") == "no-store")
                    #expect(reply.header("Pragma") == "no-cache")
                }
                #expect(reply.header("Content-Type") == "application/json")
            }
            try await vector.check(harness, reply)
        }
    }

    @Test func everyVectorOfTheContractIsCovered() {
        #expect(ContractVectors.all.map(\.number) == Array(1...30))
    }
}
