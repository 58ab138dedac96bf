import Foundation
import Testing
@testable import Cloakroom

/// `JSONReader` replaced `JSONDecoder` for every body the broker reads: it must read what
/// JSONDecoder read, the same way, and refuse what it refused.
@Suite struct JSONReaderTests {
    /// Documents shaped like the ones the broker reads (a token response, JWT claims, a Keycloak
    /// representation, a key set), read both ways. Fake values only.
    @Test(arguments: [
        #"{"access_token":"fake.token.value","expires_in":300,"refresh_expires_in":0,"token_type":"Bearer","not-before-policy":0,"scope":"profile email"}"#,
        #"{"exp":1764650000,"iat":1764649700,"jti":"fake-jti","iss":"http://127.0.0.1/realms/demo","aud":["orders","account"],"azp":"svc","realm_access":{"roles":["offline_access"]},"clientHost":"127.0.0.1","email_verified":false}"#,
        #"{"id":"2f0c1c3e-fake","clientId":"svc","enabled":true,"secret":"fake-secret","redirectUris":[],"attributes":{"client.secret.creation.time":"1764649700"},"notBefore":0,"nodeReRegistrationTimeout":-1,"protocolMappers":[{"name":"aud","config":{"included.client.audience":"orders"}}],"access":{"view":true}}"#,
        #"{"keys":[{"kid":"fake-kid","kty":"RSA","alg":"RS256","use":"sig","n":"AQAB","e":"AQAB","x5c":["MIIfake"]}]}"#,
        " [ 1 , -0 , 2.5 , -3.25e-2 , 1E3 , true , false , null , \"\" , {} , [] ] \n",
        #""caf\u00e9 \ud83d\ude00 \"quoted\" back\\slash \/ tab\t line\n""#,
        "\"caf\u{e9} \u{1F600} written as UTF-8\"",
    ])
    func readsWhatJSONDecoderReads(_ text: String) throws {
        let decoded = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
        #expect(JSONReader.read(Array(text.utf8)) == decoded)
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "+1", ".5", "1.", "1e", "-", "--1",
        "tru", "nul", "True", "NaN", "Infinity", "1e400", "\"open", "\"bad \\x escape\"", "\"tab\tinside\"",
        "\"lone high \\ud83d\"", "\"lone low \\ude00\"", "\"short \\u12\"", "{} {}", "[] x", "\"\"\"",
    ])
    func refusesWhatIsNotOneJSONValue(_ text: String) {
        #expect(JSONReader.read(Array(text.utf8)) == nil)
    }

    @Test func refusesInvalidUTF8() {
        #expect(JSONReader.read([0x22, 0xC3, 0x28, 0x22]) == nil)  // a lead byte without its continuation
        #expect(JSONReader.read([0x22, 0xFF, 0x22]) == nil)
        #expect(JSONReader.read([0x22, 0xC3, 0xA9, 0x22]) == .string("é"))
    }

    @Test func boundsNesting() {
        let deepest = String(repeating: "[", count: JSONReader.maximumDepth) + String(repeating: "]", count: JSONReader.maximumDepth)
        #expect(JSONReader.read(Array(deepest.utf8)) != nil)
        // One level more is refused, and a hostile depth costs no stack.
        for depth in [JSONReader.maximumDepth + 1, 100_000] {
            let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            #expect(JSONReader.read(Array(text.utf8)) == nil)
        }
    }

    @Test func aRepeatedKeyKeepsItsLastValue() {
        #expect(JSONReader.read(Array(#"{"token_type":"mac","token_type":"Bearer"}"#.utf8)) == .object(["token_type": .string("Bearer")]))
    }
}
