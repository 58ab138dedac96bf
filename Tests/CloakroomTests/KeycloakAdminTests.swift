import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The admin API client against a real cloak-idp, where the CLI tests cannot reach: Keycloak's
/// quirks and the representation a PUT sends back.
@Suite struct KeycloakAdminTests {
    static let configuration = """
        {"realms":[{"realm":"r1","clients":[
          {"clientId":"orders-svc","secret":"fake-kc-orders-0000","attributes":{"access.token.lifespan":"120"}},
          {"clientId":"rot-viewer","secret":"fake-kc-viewer-0000","serviceAccountRoles":{"clients":{"realm-management":["view-clients"]}}}]}]}
        """

    static func admin(_ idp: IdP) async throws -> KeycloakAdmin {
        var request = URLRequest(url: URL(string: idp.baseURL + "/realms/r1/protocol/openid-connect/token")!)
        request.httpMethod = "POST"
        request.httpBody = Data("grant_type=client_credentials&client_id=rot-viewer&client_secret=fake-kc-viewer-0000".utf8)
        request.setValue("application/x-www-form-urlencoded", forHTTPHeaderField: "Content-Type")
        let (data, _) = try await URLSession.shared.data(for: request)
        let token = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["access_token"] as? String)
        return KeycloakAdmin(baseURL: idp.baseURL + "/admin/realms/r1", caFile: nil, realm: try Name("r1"),
                             adminClient: try ClientRef("r1/viewer"), deadline: .seconds(5), token: { _ in token })
    }

    /// Contract §4.7: without manage-clients, `DELETE …/client-secret/rotated` answers 500, not
    /// 403. The message must still name the missing role.
    @Test func deletingTheRotatedSecretWithoutManageClientsNamesTheRole() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let admin = try await Self.admin(idp)
        let (uuid, listed) = try #require(try await admin.findClient(clientID: "orders-svc"))
        await #expect {
            try await admin.invalidateRotatedSecret(of: uuid)
        } throws: { error in
            guard let error = error as? RotationError else { return false }
            return error.kind == .adminRefused && error.message.contains("manage-clients") && error.message.contains("500")
        }
        // A view-only caller gets 403 on a PUT; the message names the role it lacks.
        let representation = try #require(try await admin.representation(of: uuid))
        #expect(listed.fields == representation.fields, "the lookup's list holds the whole representation (§4.3)")
        await #expect {
            try await admin.update(uuid, representation, secret: try ClientSecret("fake-kc-new-0000"))
        } throws: { ($0 as? RotationError)?.kind == .adminRefused && "\($0)".contains("manage-clients") && !"\($0)".contains("fake-kc") }
        #expect(try await admin.findClient(clientID: "no-such-client") == nil)
        #expect(try await admin.representation(of: "00000000-0000-0000-0000-000000000000") == nil)
    }

    /// The PUT body is the representation as read, with only `secret` changed: integers stay
    /// integers, attributes and nested objects survive, and a secret with JSON's special
    /// characters is escaped.
    @Test func representationGoesBackWholeWithOnlyTheSecretChanged() throws {
        let read = #"{"id":"u-1","clientId":"orders-svc","secret":"**********","notBefore":0,"nodeReRegistrationTimeout":-1,"publicClient":false,"attributes":{"client.secret.creation.time":"1764500000"},"redirectUris":[],"access":{"view":true,"configure":false},"protocol":"openid-connect"}"#
        let representation = try ClientRepresentation(json: Array(read.utf8))
        let body = representation.body(settingSecret: try ClientSecret(#"fake-"quote\slash"#))
        let sent = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let original = try #require(try JSONSerialization.jsonObject(with: Data(read.utf8)) as? [String: Any])
        #expect(sent["secret"] as? String == #"fake-"quote\slash"#)
        func canonical(_ object: [String: Any]) throws -> String {
            String(decoding: try JSONSerialization.data(withJSONObject: object.filter { $0.key != "secret" }, options: .sortedKeys), as: UTF8.self)
        }
        #expect(try canonical(sent) == canonical(original))
        #expect(String(decoding: body, as: UTF8.self).contains(#""notBefore":0,"#))
        #expect(String(decoding: body, as: UTF8.self).contains(#""publicClient":false"#))
    }

    @Test func generatedSecretsUseKeycloaksAlphabet() throws {
        var seen = Set<String>()
        for length in [22, 32, 86, 255] {
            let secret = try ClientSecret.generated(length: length)
            let text = secret.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
            #expect(text.count == length)
            #expect(text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            #expect(seen.insert(text).inserted)
        }
        #expect(throws: VaultError.self) { try ClientSecret.generated(length: 21) }
        #expect(throws: VaultError.self) { try ClientSecret.generated(length: 256) }
    }

    /// Every character of the alphabet about equally often. A byte taken modulo 62 without
    /// rejection gives its first 8 characters 5/256 of the draws instead of 4/256: 25 % too
    /// many, far outside the ±12 % allowed here (about 9 standard deviations at this sample size).
    @Test func generatedSecretsHaveNoModuloBias() throws {
        var counts = [UInt8: Int]()
        let secrets = 1_000
        for _ in 0..<secrets {
            try ClientSecret.generated(length: 255).withUnsafeBytes { for byte in $0 { counts[byte, default: 0] += 1 } }
        }
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        #expect(Set(counts.keys) == Set(alphabet))
        let expected = Double(secrets * 255) / Double(alphabet.count)
        for character in alphabet {
            let share = Double(counts[character, default: 0]) / expected
            #expect(abs(share - 1) < 0.12, "'\(UnicodeScalar(character))' drawn \(counts[character, default: 0]) times, expected about \(Int(expected))")
        }
    }
}
