import Foundation
import Testing
@testable import Cloakroom

/// The secret-bearing bytes of a token request, built in sodium memory, are exactly what the
/// plain construction gave: form-encoded halves, base64 with every padding case, the form body.
@Suite struct TokenRequestWireTests {
    func request(_ clientID: String, _ secret: String, _ method: AuthMethod, scopes: [String] = [], audience: String? = nil) throws -> TokenRequest {
        TokenRequest(tokenURL: "http://127.0.0.1:9/token", issuer: nil, caFile: nil, allowsInsecureHTTP: false, clientID: clientID,
                     authMethod: method, secret: try ClientSecret(secret), shape: TokenRequestShape(scopes: scopes, audience: audience),
                     ref: try ClientRef("r1/x"))
    }

    @Test(arguments: ["f", "fa", "fak", "fake-S3cr3t+/%&=AAAA", "fake-ü sp&ace"])
    func basicCredentialsAreBase64OfTheFormEncodedHalves(secret: String) throws {
        let header = try request("svc:1", secret, .clientSecretBasic).secureBasicCredentials().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        let plain = FormEncoding.encode("svc:1") + ":" + FormEncoding.encode(secret)
        #expect(header == "Basic " + Data(plain.utf8).base64EncodedString())
    }

    @Test func postBodyCarriesTheEncodedClientIDAndSecret() throws {
        let body = try request("svc", "fake-a&b=c", .clientSecretPost, scopes: ["b", "a"], audience: "api")
            .secureBody().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        #expect(body == "grant_type=client_credentials&scope=a%20b&audience=api&client_id=svc&client_secret=fake-a%26b%3Dc")
        let basic = try request("svc", "fake-a", .clientSecretBasic).openBody()
        #expect(String(decoding: basic, as: UTF8.self) == "grant_type=client_credentials")
    }
}
