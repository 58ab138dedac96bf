import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct OAuthTests {
    let sent = Date(timeIntervalSince1970: 1_800_000_000)

    func body(_ json: String) -> [UInt8] { Array(json.utf8) }

    /// A JWT-shaped token with `claims` (the signature is not checked here).
    func jwt(_ claims: String) -> String {
        func url(_ text: String) -> String {
            Data(text.utf8).base64EncodedString().replacing("+", with: "-").replacing("/", with: "_").replacing("=", with: "")
        }
        return url(#"{"alg":"RS256","typ":"JWT","kid":"k1"}"#) + "." + url(claims) + ".c2ln"
    }

    @Test func keycloakResponseGivesATokenExpiringAfterExpiresIn() throws {
        let token = try TokenResponse.token(from: body(#"{"access_token":"fake.tok.en","expires_in":300,"refresh_expires_in":0,"token_type":"Bearer","not-before-policy":0,"scope":"profile email"}"#), sentAt: sent)
        #expect(token.value == "fake.tok.en")
        #expect(token.expiresAt == sent.addingTimeInterval(300))
        #expect(token.scope == "profile email")
        #expect(!"\(token)".contains("fake"))
        #expect(!String(reflecting: token).contains("fake"))
    }

    @Test(arguments: ["bearer", "BEARER", "Bearer"])
    func tokenTypeIsCaseInsensitive(type: String) throws {
        let token = try TokenResponse.token(from: body(#"{"access_token":"x","token_type":"\#(type)","expires_in":"120"}"#), sentAt: sent)
        #expect(token.tokenType == "Bearer" && token.expiresAt == sent.addingTimeInterval(120))
    }

    @Test func jwtExpiryCapsExpiresIn() throws {
        let token = jwt(#"{"exp":\#(Int(sent.timeIntervalSince1970) + 100)}"#)
        let parsed = try TokenResponse.token(from: body(#"{"access_token":"\#(token)","token_type":"Bearer","expires_in":300}"#), sentAt: sent)
        #expect(parsed.expiresAt == sent.addingTimeInterval(100))
    }

    @Test func missingExpiresInFallsBackToJWTExpiryThenToTheAssumedLifetime() throws {
        let token = jwt(#"{"exp":\#(Int(sent.timeIntervalSince1970) + 900)}"#)
        #expect(try TokenResponse.token(from: body(#"{"access_token":"\#(token)","token_type":"Bearer"}"#), sentAt: sent).expiresAt
                == sent.addingTimeInterval(900))
        #expect(try TokenResponse.token(from: body(#"{"access_token":"opaque-token","token_type":"Bearer"}"#), sentAt: sent).expiresAt
                == sent.addingTimeInterval(TokenResponse.assumedLifetime))
    }

    @Test(arguments: [
        "", "<html>oops</html>", "[]", #"{"token_type":"Bearer"}"#, #"{"access_token":"","token_type":"Bearer"}"#,
        #"{"access_token":"x","token_type":"mac"}"#, #"{"access_token":"x"}"#, #"{"access_token":"x y","token_type":"Bearer"}"#,
        #"{"access_token":"x","token_type":"Bearer","expires_in":-5}"#, #"{"access_token":"x","token_type":"Bearer","expires_in":"soon"}"#,
        #"{"access_token":"x","token_type":"Bearer","#,
    ])
    func unusableSuccessBodiesAreRefused(json: String) {
        #expect(throws: TokenError.self) { try TokenResponse.token(from: body(json), sentAt: sent) }
    }

    @Test func errorBodiesAreReadWhenTheyAreJSON() {
        let error = TokenResponse.error(from: body(#"{"error":"unauthorized_client","error_description":"Invalid client or Invalid client credentials"}"#))
        #expect(error.code == "unauthorized_client" && error.description == "Invalid client or Invalid client credentials")
        #expect(TokenResponse.error(from: body("")) == (nil, nil))
        #expect(TokenResponse.error(from: body("<html>502</html>")) == (nil, nil))
        #expect(TokenResponse.error(from: body(#"{"error":"a\u0007b\nc"}"#)).code == "abc")
    }

    @Test(arguments: [
        ("broker-svc", "broker-svc"),
        ("a+b%2F", "a%2Bb%252F"),  // the contract's vector §7 #3
        ("sp ace&=ü", "sp%20ace%26%3D%C3%BC"),
        ("A-Z.a_z~09", "A-Z.a_z~09"),
    ])
    func formEncodingMatchesRFC6749AppendixB(raw: String, encoded: String) {
        #expect(FormEncoding.encode(raw) == encoded)
    }

    @Test func jwtClaimsAreDecodedWithoutVerification() throws {
        let token = try #require(JWT(jwt(#"{"azp":"broker-svc","aud":["account","realm-management"],"exp":1800000300}"#)))
        #expect(token.claims["azp"]?.string == "broker-svc")
        #expect(token.claims["aud"]?.strings == ["account", "realm-management"])
        #expect(token.expiresAt == Date(timeIntervalSince1970: 1_800_000_300))
        #expect(JWT("opaque-token") == nil)
        #expect(JWT("a.b.c") == nil)
    }

    /// The library's base64 agrees with Foundation's on every length and byte: its encoder, and
    /// its decoder in both alphabets, padded or not; and the decoder refuses what is not base64.
    @Test func base64AgreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            for _ in 0..<8 {
                let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
                let standard = Data(bytes).base64EncodedString()
                let url = standard.replacing("+", with: "-").replacing("/", with: "_")
                var encoded: [UInt8] = []
                bytes.withUnsafeBytes { Base64.encode($0) { encoded.append($0) } }
                #expect(encoded == Array(standard.utf8))
                #expect(Base64.decode(standard[...]) == bytes)
                #expect(Base64.decode(url[...]) == bytes)
                #expect(Base64.decode(url.replacing("=", with: "")[...]) == bytes)
            }
        }
        for bad in ["a", "abcde", "ab$c", "a=bc", "ab c", "é", "abc.", "ab==="] {
            #expect(Base64.decode(bad[...]) == nil, "\(bad)")
        }
    }
}
