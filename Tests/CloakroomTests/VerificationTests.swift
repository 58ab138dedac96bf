import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom
import Crypto
import _CryptoExtras

/// `TokenBroker.verify` against a real cloak-idp's JWKS, and the checks of a discovery document.
@Suite(.serialized) struct VerificationTests {
    func broker(_ idp: IdP, issuer: Bool = false) throws -> (TokenBroker, Fixture) {
        let fixture = try Fixture()
        let settings = issuer ? RealmSettings(issuer: idp.issuer) : RealmSettings(tokenURL: idp.tokenURL)
        try fixture.vault.addRealm(Name("r1"), settings)
        try fixture.vault.addClient(ClientRef("r1/basic"), ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        return (try TokenBroker(vault), fixture)
    }

    /// `token` with one part replaced (0 header, 1 claims, 2 signature).
    func replacing(_ token: AccessToken, part: Int, with text: String) -> AccessToken {
        var parts = token.value.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        parts[part] = text
        return AccessToken(value: parts.joined(separator: "."), expiresAt: token.expiresAt, issuedAt: token.issuedAt, scope: token.scope)
    }

    func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    @Test func cloakIdPTokenVerifiesWithItsKid() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp, issuer: true)
        defer { withExtendedLifetime(fixture) {} }
        let token = try await broker.token(for: "r1/basic").token
        let kid = try #require(JWT(token.value)?.header["kid"]?.string)
        let check = try await broker.verify(token, for: "r1/basic")
        #expect(check == .verified(algorithm: "RS256", keyID: kid, jwksURI: idp.jwksURL, issuer: idp.issuer))
        // The key set is kept: a second check fetches nothing.
        _ = try await broker.verify(token, for: "r1/basic")
        #expect(try await idp.requests("certs") == 1)
    }

    @Test func flippedSignatureBitIsAnError() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp)
        defer { withExtendedLifetime(fixture) {} }
        let token = try await broker.token(for: "r1/basic").token
        var signature = try #require(JWT(token.value)).signature
        signature[signature.count / 2] ^= 0x01
        await #expect {
            try await broker.verify(replacing(token, part: 2, with: base64URL(signature)), for: "r1/basic")
        } throws: { error in
            guard case .verificationFailed(let detail)? = error as? TokenError else { return false }
            return detail.message.contains("signature does not verify") && !detail.message.contains(token.value)
        }
    }

    @Test func alteredClaimsAreAnError() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp)
        defer { withExtendedLifetime(fixture) {} }
        let token = try await broker.token(for: "r1/basic").token
        let claims = #"{"iss":"\#(idp.issuer)","azp":"broker-svc","exp":4102444800}"#
        await #expect(throws: TokenError.self) {
            try await broker.verify(replacing(token, part: 1, with: base64URL(Array(claims.utf8))), for: "r1/basic")
        }
    }

    @Test func unsignedTokenIsAnErrorAndAnHMACTokenIsNotVerified() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp)
        defer { withExtendedLifetime(fixture) {} }
        let token = try await broker.token(for: "r1/basic").token
        let none = replacing(token, part: 0, with: base64URL(Array(#"{"alg":"none","typ":"JWT"}"#.utf8)))
        await #expect {
            try await broker.verify(none, for: "r1/basic")
        } throws: { "\($0)".contains("alg \"none\"") }
        let hmac = replacing(token, part: 0, with: base64URL(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8)))
        let check = try await broker.verify(hmac, for: "r1/basic")
        #expect(!check.isVerified && check.description.hasPrefix("NOT verified: HS256"))
    }

    /// A kid the kept key set lacks makes one more fetch, not more.
    @Test func unknownKidIsFetchedAgainOnceThenAnError() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp)
        defer { withExtendedLifetime(fixture) {} }
        let token = try await broker.token(for: "r1/basic").token
        _ = try await broker.verify(token, for: "r1/basic")
        let stranger = replacing(token, part: 0, with: base64URL(Array(#"{"alg":"RS256","typ":"JWT","kid":"not-a-kid"}"#.utf8)))
        await #expect {
            try await broker.verify(stranger, for: "r1/basic")
        } throws: { "\($0)".contains("no RS256 signing key with kid not-a-kid") }
        #expect(try await idp.requests("certs") == 2)
    }

    @Test func realmWithoutAKnownJWKSIsNotVerified() async throws {
        let idp = try IdP()
        let fixture = try Fixture()
        // A token URL that is not Keycloak-shaped implies no JWKS.
        try fixture.vault.addRealm(Name("odd"), RealmSettings(tokenURL: idp.baseURL + "/oauth/token"))
        try fixture.vault.addClient(ClientRef("odd/svc"), ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        let broker = try TokenBroker(try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]))
        let (other, otherFixture) = try self.broker(idp)
        defer { withExtendedLifetime(otherFixture) {} }
        let token = try await other.token(for: "r1/basic").token
        let check = try await broker.verify(token, for: "odd/svc")
        #expect(!check.isVerified && check.description.contains("does not know where the realm's JWKS is"))
    }

    static let issuer = "https://idp.example.test/realms/r1"

    @Test(arguments: [
        (#"{"issuer":"https://idp.example.test/realms/r1/","token_endpoint":"https://idp.example.test/t"}"#, "is for issuer"),
        (#"{"issuer":"https://IDP.example.test/realms/r1","token_endpoint":"https://idp.example.test/t"}"#, "is for issuer"),
        (#"{"token_endpoint":"https://idp.example.test/t"}"#, "names no issuer"),
        (#"{"issuer":"https://idp.example.test/realms/r1"}"#, "names no token_endpoint"),
        (#"{"issuer":"https://idp.example.test/realms/r1","token_endpoint":"http://idp.example.test/t"}"#, "plain http"),
        (#"{"issuer":"https://idp.example.test/realms/r1","token_endpoint":"https://u:p@idp.example.test/t"}"#, "user name or password"),
        (#"{"issuer":"https://idp.example.test/realms/r1","token_endpoint":"https://idp.example.test/t","jwks_uri":"ftp://x/certs"}"#, "must use https"),
    ])
    func discoveryDocumentsThatAreRefused(document: String, message: String) throws {
        let object = try JSONDecoder().decode([String: JSONValue].self, from: Data(document.utf8))
        #expect {
            try ProviderMetadata.validated(object, issuer: Self.issuer, realm: Name("r1"), allowsInsecureHTTP: false, at: Date())
        } throws: { "\($0)".contains(message) }
    }

    @Test func discoveryDocumentOfTheIssuerIsAccepted() throws {
        let document = #"{"issuer":"https://idp.example.test/realms/r1","token_endpoint":"https://other.example.test/t","jwks_uri":"https://idp.example.test/certs"}"#
        let object = try JSONDecoder().decode([String: JSONValue].self, from: Data(document.utf8))
        let metadata = try ProviderMetadata.validated(object, issuer: Self.issuer, realm: Name("r1"), allowsInsecureHTTP: false, at: Date())
        #expect(metadata.tokenEndpoint == "https://other.example.test/t" && metadata.jwksURI == "https://idp.example.test/certs")
        #expect(ProviderMetadata.discoveryURL(for: Self.issuer + "/") == Self.issuer + "/.well-known/openid-configuration")
    }

    @Test(arguments: [
        ("https://h/realms/prod/protocol/openid-connect/token", "https://h/realms/prod/protocol/openid-connect/certs"),
        ("https://h/auth/realms/prod/protocol/openid-connect/token", "https://h/auth/realms/prod/protocol/openid-connect/certs"),
        ("https://h/oauth2/token", nil),
        ("https://h/realms//protocol/openid-connect/token", nil),
        ("https://h/realms/prod/protocol/openid-connect/token?x=1", nil),
    ])
    func keycloakJWKSIsDerivedOnlyFromAKeycloakTokenURL(tokenURL: String, jwks: String?) {
        #expect(EndpointURL.keycloakJWKSURL(fromTokenURL: tokenURL) == jwks)
    }

    /// Client secrets of an issuer realm stay sealed for the issuer, whatever was discovered.
    @Test func discoveryNeverChangesWhatSecretsAreSealedFor() async throws {
        let idp = try IdP()
        let (broker, fixture) = try broker(idp, issuer: true)
        _ = try await broker.token(for: "r1/basic")
        let realm = try fixture.vault.vault.realm(named: Name("r1"))
        #expect(realm.tokenURL == nil && realm.secretEndpoint == idp.issuer && realm.discovered?.tokenEndpoint == idp.tokenURL)
        #expect(try fixture.vault.currentSecret(of: ClientRef("r1/basic")).testValue == IdP.basicSecret)
    }
}

/// Every algorithm the JWKS check accepts, with keys and signatures made here by swift-crypto:
/// cloak-idp signs only RS256.
@Suite struct SignatureAlgorithmTests {
    static let rsa = try! _RSA.Signing.PrivateKey(keySize: .bits2048)
    static let p256 = P256.Signing.PrivateKey()

    func base64URL(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    func jwk(for algorithm: SignatureAlgorithm) throws -> [String: JSONValue] {
        if algorithm == .es256 {
            let raw = Array(Self.p256.publicKey.rawRepresentation)
            return ["kty": .string("EC"), "crv": .string("P-256"), "kid": .string("ec"), "use": .string("sig"),
                    "x": .string(base64URL(raw.prefix(32))), "y": .string(base64URL(raw.suffix(32)))]
        }
        let primitives = try Self.rsa.publicKey.getKeyPrimitives()
        return ["kty": .string("RSA"), "kid": .string("rsa"), "n": .string(base64URL(primitives.modulus)),
                "e": .string(base64URL(primitives.publicExponent))]
    }

    func sign(_ input: [UInt8], _ algorithm: SignatureAlgorithm) throws -> [UInt8] {
        let padding: _RSA.Signing.Padding = algorithm.rawValue.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
        switch algorithm {
        case .es256: return Array(try Self.p256.signature(for: SHA256.hash(data: input)).rawRepresentation)
        case .rs256, .ps256: return Array(try Self.rsa.signature(for: SHA256.hash(data: input), padding: padding).rawRepresentation)
        case .rs384, .ps384: return Array(try Self.rsa.signature(for: SHA384.hash(data: input), padding: padding).rawRepresentation)
        case .rs512, .ps512: return Array(try Self.rsa.signature(for: SHA512.hash(data: input), padding: padding).rawRepresentation)
        }
    }

    @Test(arguments: SignatureAlgorithm.allCases)
    func signatureVerifiesAndAFlippedBitDoesNot(algorithm: SignatureAlgorithm) throws {
        let input = Array("eyJhbGciOiJ0ZXN0In0.eyJzdWIiOiJ4In0".utf8)
        let set = try JSONWebKeySet(["keys": .array([.object(try jwk(for: algorithm))])], url: "https://idp.example.test/certs")
        let key = try #require(set.key(id: algorithm == .es256 ? "ec" : "rsa", for: algorithm))
        var signature = try sign(input, algorithm)
        #expect(algorithm.isValid(signature, over: input, with: key.material))
        signature[signature.count - 1] ^= 0x80
        #expect(!algorithm.isValid(signature, over: input, with: key.material))
        #expect(!algorithm.isValid(try sign(input, algorithm), over: input + [0x2e], with: key.material))
    }

    @Test func encryptionKeysAndKeysForAnotherAlgorithmAreNotUsed() throws {
        var encryption = try jwk(for: .rs256)
        encryption["use"] = .string("enc")
        var ps = try jwk(for: .rs256)
        ps["alg"] = .string("PS256")
        let set = try JSONWebKeySet(["keys": .array([.object(encryption), .object(ps)])], url: "https://idp.example.test/certs")
        #expect(set.keys.count == 1)
        #expect(set.key(id: "rsa", for: .rs256) == nil && set.key(id: "rsa", for: .ps256) != nil)
    }
}
