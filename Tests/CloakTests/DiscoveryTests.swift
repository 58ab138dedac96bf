import Foundation
import CloakroomTestSupport
import Testing

/// Realms added by `--issuer`: OIDC discovery against a real cloak-idp (and, where the document
/// itself must change, a real HTTP server serving one) on 127.0.0.1.
@Suite(.serialized) struct DiscoveryTests {
    func realmJSON(_ sandbox: Sandbox, _ name: String = "r1") throws -> [String: Any] {
        let show = try sandbox.ok("realm", "show", name, "--json").stdout
        return try #require(try JSONSerialization.jsonObject(with: Data(show.utf8)) as? [String: Any])
    }

    @Test func realmByIssuerIsDiscoveredAtAddThenServesTokens() async throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let add = try sandbox.ok("realm", "add", "r1", "--issuer", idp.issuer)
        #expect(add.stderr.contains("secrets sealed for \(idp.issuer))") && add.stderr.contains("token endpoint \(idp.tokenURL)"), "\(add)")
        let realm = try realmJSON(sandbox)
        #expect(realm["token_url"] is NSNull)
        #expect(realm["discovered_token_endpoint"] as? String == idp.tokenURL)
        #expect(realm["discovered_jwks_uri"] as? String == idp.jwksURL)
        #expect((realm["discovered_at"] as? String)?.hasSuffix("Z") == true)
        #expect(try sandbox.ok("realm", "show", "r1").stdout.contains("token endpoint  \(idp.tokenURL)"))

        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let (first, json) = try sandbox.tokenJSON("r1/basic")
        #expect(first.status == 0 && json["source"] as? String == "idp", "\(first)")
        let (second, cached) = try sandbox.tokenJSON("r1/basic")
        #expect(second.status == 0 && cached["source"] as? String == "cache", "\(second)")
        #expect(try await idp.tokenRequests() == 1)
        #expect(try await idp.requests("discovery") == 1, "asked once, at realm add; never on a token request")
        #expect(try sandbox.ok("doctor").status == 0)

        // The issuer's JWKS verifies the token, and its iss is the realm's issuer.
        let inspect = try sandbox.ok("inspect", "r1/basic").stdout
        #expect(inspect.contains("verified (RS256, kid ") && inspect.contains("JWKS \(idp.jwksURL)") && inspect.contains("iss is \(idp.issuer)"), "\(inspect)")
        #expect(!inspect.contains("NOT verified"))
    }

    /// OIDC Discovery §4.3: the document must name exactly the issuer it was fetched for.
    @Test func documentForAnotherIssuerIsRefusedAndNothingIsStored() throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        // A trailing slash: the document lives at the same URL, but names `…/realms/r1`.
        let slash = try sandbox.run(["realm", "add", "r1", "--issuer", idp.issuer + "/"])
        #expect(slash.status == 13, "\(slash)")
        #expect(slash.stderr.contains("is for issuer \(idp.issuer), not \(idp.issuer)/") && slash.stderr.contains("--issuer \(idp.issuer)`"), "\(slash)")
        // A server whose document names someone else's issuer.
        let impostor = try StaticServer()
        try impostor.serveDiscovery(issuer: "https://idp.example.test/realms/r1", tokenEndpoint: idp.tokenURL)
        let other = try sandbox.run(["realm", "add", "r1", "--issuer", impostor.baseURL + "/realms/r1"])
        #expect(other.status == 13 && other.stderr.contains("is for issuer https://idp.example.test/realms/r1"), "\(other)")
        #expect(other.stdout.isEmpty)
        #expect(try sandbox.ok("realm", "list", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func announcedEndpointOutsideTheRealmsPolicyIsRefused() throws {
        let idp = try IdP()
        let issuer = try StaticServer()
        try issuer.serveDiscovery(tokenEndpoint: "http://idp.example.test/realms/r1/protocol/openid-connect/token")
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let outcome = try sandbox.run(["realm", "add", "r1", "--issuer", issuer.baseURL + "/realms/r1"])
        #expect(outcome.status == 14 && outcome.stderr.contains("plain http to idp.example.test"), "\(outcome)")
        #expect(try sandbox.ok("realm", "list", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        _ = idp
    }

    @Test func unreachableIssuerAtAddIsAskedOnTheFirstTokenRequest() async throws {
        let idp = try IdP()
        let vanished = try StaticServer()
        let port = vanished.port
        vanished.stop()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let issuer = "http://127.0.0.1:\(port)/realms/r1"
        let add = try sandbox.ok("realm", "add", "r1", "--issuer", issuer)
        #expect(add.stderr.contains("warning:") && add.stderr.contains("asked on the first token request"), "\(add)")
        #expect(try realmJSON(sandbox)["discovered_token_endpoint"] is NSNull)
        #expect(try sandbox.ok("realm", "show", "r1").stdout.contains("not yet discovered"))
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)

        let back = try StaticServer(port: port)
        try back.serveDiscovery(tokenEndpoint: idp.tokenURL, jwksURI: idp.jwksURL)
        let (outcome, json) = try sandbox.tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(try realmJSON(sandbox)["discovered_token_endpoint"] as? String == idp.tokenURL)
        #expect(try await idp.tokenRequests() == 1)
    }

    /// The issuer now names another token endpoint, and the stored one is gone: refusing
    /// connections (its server stopped) or answering 404 (its path moved).
    @Test(arguments: ["refused", "404"])
    func tokenEndpointThatMovedIsRediscoveredOnce(how: String) async throws {
        let idp = try IdP()
        var old: IdP? = how == "refused" ? try IdP() : nil
        let issuer = try StaticServer()
        let oldEndpoint = old?.tokenURL ?? idp.baseURL + "/realms/r1/protocol/openid-connect/moved-away"
        try issuer.serveDiscovery(tokenEndpoint: oldEndpoint, jwksURI: idp.jwksURL)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--issuer", issuer.baseURL + "/realms/r1")
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        #expect(try realmJSON(sandbox)["discovered_token_endpoint"] as? String == oldEndpoint)
        old?.stop()
        old = nil

        try issuer.serveDiscovery(tokenEndpoint: idp.tokenURL, jwksURI: idp.jwksURL)
        let (outcome, json) = try sandbox.tokenJSON("r1/basic", environment: ["CLOAK_DEADLINE": "3"])
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(try realmJSON(sandbox)["discovered_token_endpoint"] as? String == idp.tokenURL)
        #expect(try await idp.tokenRequests() == 1)
    }

    /// Rediscovery is asked once: an issuer that still names the dead endpoint ends the request.
    @Test func endpointStillNamedByTheIssuerFailsAfterOneRediscovery() throws {
        let idp = try IdP()
        let issuer = try StaticServer()
        try issuer.serveDiscovery(tokenEndpoint: idp.baseURL + "/realms/r1/protocol/openid-connect/moved-away")
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--issuer", issuer.baseURL + "/realms/r1")
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let outcome = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": "3"])
        #expect(outcome.status == 13 && outcome.stderr.contains("answered HTTP 404"), "\(outcome)")
        #expect(!outcome.stderr.contains("fake-"))
    }

    /// Someone who can write the vault file points the realm's discovered endpoint at their own
    /// server: the row no longer opens, the secret is not sent there, the issuer is asked again.
    @Test func discoveryRowEditedOutsideCloakIsNotTrusted() async throws {
        let idp = try IdP()
        let attacker = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--issuer", idp.issuer)
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        try RawVault.execute(sandbox.vault, "UPDATE realm_discovery SET token_endpoint = '\(attacker.tokenURL)'")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("discovery") && doctor.stdout.contains("changed outside cloak"), "\(doctor)")

        let (outcome, json) = try sandbox.tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(try await attacker.tokenRequests() == 0, "the secret went to an endpoint the issuer never named")
        #expect(try await idp.tokenRequests() == 1)
        #expect(try realmJSON(sandbox)["discovered_token_endpoint"] as? String == idp.tokenURL)
        #expect(try sandbox.run(["doctor"]).status == 0)
    }

    @Test func rediscoverAsksTheIssuerAgain() async throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--issuer", idp.issuer)
        let update = try sandbox.ok("realm", "update", "r1", "--rediscover")
        #expect(update.stderr.contains("token endpoint \(idp.tokenURL)"), "\(update)")
        #expect(try await idp.requests("discovery") == 2)
        try sandbox.ok("realm", "add", "r2", "--token-url", idp.tokenURL)
        let refused = try sandbox.run(["realm", "update", "r2", "--rediscover"])
        #expect(refused.status == 2 && refused.stderr.contains("nothing to discover"), "\(refused)")
    }
}
