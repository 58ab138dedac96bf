import AsyncHTTPClient
import CloakIdP
import Crypto
import Foundation
import NIOHTTP1
import Testing
import _CryptoExtras

@Suite("Token endpoint: claims, keys, client authentication edge cases")
struct TokenEndpointTests {
    /// Error cases beyond §7, each with Keycloak's status and body (§1.2).
    struct ErrorCase: Sendable, CustomTestStringConvertible {
        let name: String
        let fields: [(String, String)]
        let headers: [(String, String)]
        let status: Int
        let body: String
        var testDescription: String { name }
    }

    static let errorCases: [ErrorCase] = [
        ErrorCase(
            name: "confidential client without a secret",
            fields: [("grant_type", "client_credentials"), ("client_id", "broker-svc")], headers: [], status: 401,
            body: #"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#),
        ErrorCase(
            name: "no client_id at all",
            fields: [("grant_type", "client_credentials")], headers: [], status: 401,
            body: #"{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}"#),
        ErrorCase(
            name: "non-Basic Authorization and no form client_id",
            fields: [("grant_type", "client_credentials")], headers: [("Authorization", "Negotiate abc")], status: 401,
            body: #"{"error":"invalid_client","error_description":"Invalid client or Invalid client credentials"}"#),
        ErrorCase(
            name: "Basic header with a stray % escape",
            fields: [("grant_type", "client_credentials")],
            headers: [("Authorization", "Basic " + Data("broker-svc:50%".utf8).base64EncodedString())], status: 400,
            body: #"{"error":"unauthorized_client","error_description":"Unexpected error when authenticating client"}"#),
        ErrorCase(
            name: "form credentials override a wrong Basic header",
            fields: [("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", "wrong")],
            headers: [Harness.basic("broker-svc", Fixtures.brokerSecret)], status: 401,
            body: #"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#),
        ErrorCase(
            name: "duplicated parameter is checked only after authentication",
            fields: [("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", "wrong"), ("scope", "a"), ("scope", "b")],
            headers: [], status: 401,
            body: #"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#),
        ErrorCase(
            name: "invalid scope echoes the raw parameter",
            fields: [("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", Fixtures.brokerSecret), ("scope", "email  nope")],
            headers: [], status: 400,
            body: #"{"error":"invalid_scope","error_description":"Invalid scopes: email  nope"}"#),
    ]

    @Test(arguments: errorCases)
    func refusesAsKeycloakDoes(_ errorCase: ErrorCase) async throws {
        try await withIdP { harness in
            let reply = try await harness.form(errorCase.fields, headers: errorCase.headers)
            #expect(reply.status == errorCase.status)
            #expect(reply.body == errorCase.body)
            #expect(reply.header("Cache-Control") == "no-store")
            #expect(reply.header("Pragma") == "no-cache")
            #expect(reply.header("Content-Type") == "application/json")
        }
    }

    @Test func basicSchemeIsCaseInsensitiveAndFormOverridesHeaderClientId() async throws {
        try await withIdP { harness in
            let header = Harness.basic("broker-svc", Fixtures.brokerSecret)
            let lower = try await harness.form([("grant_type", "client_credentials")], headers: [("Authorization", header.1.replacingOccurrences(of: "Basic", with: "bASIC"))])
            #expect(lower.status == 200)
            // The header names nosa, the form names broker-svc and its secret: the form wins.
            let mixed = try await harness.form(
                [("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", Fixtures.brokerSecret)],
                headers: [Harness.basic("nosa", Fixtures.nosaSecret)])
            #expect(mixed.status == 200)
            #expect(mixed.json?["access_token"]?.stringValue.flatMap(claims(of:))?["azp"] == "broker-svc")
        }
    }

    @Test func accessTokenCarriesServiceAccountClaims() async throws {
        try await withIdP { harness in
            let before = Int(Date().timeIntervalSince1970)
            let token = try await harness.accessToken(of: "kc-admin")
            let after = Int(Date().timeIntervalSince1970)
            let claimSet = claims(of: token)
            let claims = try #require(claimSet)
            #expect(claims["iss"] == .string(harness.base + "/realms/r1"))
            #expect(claims["typ"] == "Bearer")
            #expect(claims["azp"] == "kc-admin")
            #expect(claims["client_id"] == "kc-admin")
            #expect(claims["preferred_username"] == "service-account-kc-admin")
            #expect(claims["scope"] == "profile email")
            #expect(claims["sub"]?.stringValue?.count == 36)
            #expect(claims["jti"]?.stringValue?.hasPrefix("trtcc:") == true)
            let iat = try #require(claims["iat"]?.intValue)
            // Issued while the request ran: bracketed by clock readings, not by a guess at how long
            // a request takes on a loaded machine (`before + 5` failed with four builds running).
            #expect(iat >= before - 1 && iat <= after + 1)
            #expect(claims["exp"]?.intValue == iat + 300)
            #expect(claims["aud"] == ["realm-management", "account"])
            #expect(claims["resource_access"]?["realm-management"]?["roles"] == ["manage-clients"])
            #expect(claims["realm_access"]?["roles"]?.arrayValue?.contains("default-roles-r1") == true)
            #expect(claims["clientAddress"] == "127.0.0.1")
            #expect(claims["session_state"] == nil)
            #expect(claims["sid"] == nil)
        }
    }

    @Test func eachTokenIsFreshWithItsOwnJti() async throws {
        try await withIdP { harness in
            var seen = Set<String>()
            for _ in 0..<5 {
                let token = try await harness.accessToken(of: "broker-svc")
                seen.insert(try #require(claims(of: token)?["jti"]?.stringValue))
            }
            #expect(seen.count == 5)
        }
    }

    @Test func tokenVerifiesWithTheJWKSKeySelectedByKid() async throws {
        try await withIdP { harness in
            let token = try await harness.accessToken(of: "broker-svc")
            let parts = token.split(separator: ".").map(String.init)
            let headerBytes = try #require(base64URL(parts[0]))
            let header = try #require(try JSONParser.parse(headerBytes).objectValue)
            #expect(header["alg"] == "RS256")
            #expect(header["typ"] == "JWT")
            let kid = try #require(header["kid"]?.stringValue)
            let jwks = try await harness.send(.GET, "/realms/r1/protocol/openid-connect/certs")
            let keys = try #require(jwks.json?["keys"]?.arrayValue)
            #expect(keys.count == 2, "signing key plus an RSA-OAEP enc key, as 26.x")
            #expect(keys.first?["use"] == "enc", "taking keys[0] must fail")
            let jwk = try #require(keys.first { $0["kid"] == .string(kid) })
            #expect(jwk["use"] == "sig")
            #expect(jwk["alg"] == "RS256")
            let n = try #require(base64URL(jwk["n"]?.stringValue ?? ""))
            let e = try #require(base64URL(jwk["e"]?.stringValue ?? ""))
            let publicKey = try _RSA.Signing.PublicKey(n: n, e: e)
            let signature = _RSA.Signing.RSASignature(rawRepresentation: try #require(base64URL(parts[2])))
            let digest = SHA256.hash(data: Array((parts[0] + "." + parts[1]).utf8))
            #expect(publicKey.isValidSignature(signature, for: digest, padding: .insecurePKCS1v1_5))
        }
    }

    @Test func discoveryUsesAbsoluteURLsOfTheRunningServer() async throws {
        try await withIdP { harness in
            let reply = try await harness.send(.GET, "/realms/r1/.well-known/openid-configuration")
            #expect(reply.status == 200)
            let issuer = harness.base + "/realms/r1"
            #expect(reply.json?["issuer"] == .string(issuer))
            #expect(reply.json?["token_endpoint"] == .string(issuer + "/protocol/openid-connect/token"))
            #expect(reply.json?["jwks_uri"] == .string(issuer + "/protocol/openid-connect/certs"))
            #expect(reply.json?["introspection_endpoint"] == .string(issuer + "/protocol/openid-connect/token/introspect"))
            #expect(reply.json?["revocation_endpoint"] == .string(issuer + "/protocol/openid-connect/revoke"))
            #expect(reply.json?["grant_types_supported"]?.arrayValue?.contains("client_credentials") == true)
            #expect(reply.json?["token_endpoint_auth_methods_supported"] == [
                "private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt",
            ])
            let missing = try await harness.send(.GET, "/realms/nope/.well-known/openid-configuration")
            #expect(missing.status == 404)
            #expect(missing.body == #"{"error":"Realm does not exist"}"#)
        }
    }

    @Test func lifespanComesFromRealmThenClientAttribute() async throws {
        var configuration = Fixtures.configuration()
        let r1 = try #require(configuration.realms.firstIndex { $0.name == "r1" })
        configuration.realms[r1].accessTokenLifespan = 120
        configuration.realms[r1].clients[0].attributes["access.token.lifespan"] = "45"
        try await withIdP(configuration) { harness in
            let broker = try await harness.token("broker-svc", Fixtures.brokerSecret)
            let admin = try await harness.token("kc-admin", Fixtures.adminSecret)
            let master = try await harness.token("master-admin", Fixtures.masterAdminSecret, realm: "master")
            #expect(broker.json?["expires_in"] == 45)
            #expect(admin.json?["expires_in"] == 120)
            #expect(master.json?["expires_in"] == 60)
        }
    }

    @Test func realmDisabledAndHTTPSRequired() async throws {
        var configuration = Fixtures.configuration()
        let r1 = try #require(configuration.realms.firstIndex { $0.name == "r1" })
        configuration.realms[r1].enabled = false
        let r2 = try #require(configuration.realms.firstIndex { $0.name == "r2" })
        configuration.realms[r2].sslRequired = .all
        try await withIdP(configuration) { harness in
            let disabled = try await harness.token("broker-svc", Fixtures.brokerSecret)
            #expect(disabled.status == 403)
            #expect(disabled.body == #"{"error":"access_denied","error_description":"Realm not enabled"}"#)
            let plain = try await harness.token("r2-admin", Fixtures.r2AdminSecret, realm: "r2")
            #expect(plain.status == 403)
            #expect(plain.body == #"{"error":"invalid_request","error_description":"HTTPS required"}"#)
        }
    }

    @Test func bearerOnlyAndDisabledServiceAccountUser() async throws {
        var configuration = Fixtures.configuration()
        let r1 = try #require(configuration.realms.firstIndex { $0.name == "r1" })
        var bearer = ClientConfiguration(clientId: "api", secret: "ApiSecretAAAAAAAAAAAAAAAAAAAAAAA")
        bearer.bearerOnly = true
        var disabledUser = ClientConfiguration(clientId: "sleepy", secret: "SleepySecretAAAAAAAAAAAAAAAAAAAA")
        disabledUser.serviceAccountUserEnabled = false
        configuration.realms[r1].clients += [bearer, disabledUser]
        try await withIdP(configuration) { harness in
            let api = try await harness.token("api", "ApiSecretAAAAAAAAAAAAAAAAAAAAAAA")
            #expect(api.status == 400)
            #expect(api.body == #"{"error":"invalid_client","error_description":"Bearer-only not allowed"}"#)
            let sleepy = try await harness.token("sleepy", "SleepySecretAAAAAAAAAAAAAAAAAAAA")
            #expect(sleepy.status == 401)
            #expect(sleepy.body == #"{"error":"invalid_request","error_description":"User 'service-account-sleepy' disabled"}"#)
        }
    }

    @Test func jsonBodyIsUnsupportedMediaType() async throws {
        try await withIdP { harness in
            let reply = try await harness.send(.POST, Harness.tokenPath, headers: [("Content-Type", "application/json")], body: #"{"grant_type":"client_credentials"}"#)
            #expect(reply.status == 415)
        }
    }

    @Test func optionalScopeIsGrantedOnRequest() async throws {
        try await withIdP { harness in
            let reply = try await harness.token("broker-svc", Fixtures.brokerSecret, extra: [("scope", "phone")])
            #expect(reply.json?["scope"] == "profile email phone")
        }
    }

    @Test func legacyMissingSecretWording() async throws {
        var compatibility = Compatibility()
        compatibility.legacyMissingSecretDescription = true
        try await withIdP(Fixtures.configuration(compatibility: compatibility)) { harness in
            let reply = try await harness.token("broker-svc", nil)
            #expect(reply.body == #"{"error":"unauthorized_client","error_description":"Client secret not provided in request"}"#)
        }
    }

    @Test func relativePathServesTheOldAuthPrefix() async throws {
        try await withIdP(options: ServerOptions(relativePath: "/auth")) { harness in
            let reply = try await harness.form(
                [("grant_type", "client_credentials"), ("client_id", "broker-svc"), ("client_secret", Fixtures.brokerSecret)],
                to: "/auth/realms/r1/protocol/openid-connect/token")
            #expect(reply.status == 200)
            #expect(reply.json?["access_token"]?.stringValue.flatMap(claims(of:))?["iss"] == .string(harness.base + "/auth/realms/r1"))
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 404)
            let stats = try await harness.send(.GET, "/_cloak-idp/stats")
            #expect(stats.json?["by_route"]?["token"] == 1, "controls stay at the root")
        }
    }
}

/// Decodes unpadded base64url.
func base64URL(_ text: String) -> [UInt8]? {
    var padded = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while padded.count % 4 != 0 { padded += "=" }
    return Data(base64Encoded: padded).map { Array($0) }
}
