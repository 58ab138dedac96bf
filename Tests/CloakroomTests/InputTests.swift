import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct InputTests {
    /// What `ClientSecret.read` makes of `input` arriving on a pipe.
    func readSecret(_ input: String) throws -> ClientSecret {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try pipe.fileHandleForWriting.close()
        return try ClientSecret.read(from: pipe.fileHandleForReading.fileDescriptor)
    }

    @Test(arguments: [
        ("fake-secret", "fake-secret"),
        ("fake-secret\n", "fake-secret"),
        ("fake-secret\r\n", "fake-secret"),
        ("  fake secret with spaces  \n", "  fake secret with spaces  "),
        ("fake+secret%2F&=\n", "fake+secret%2F&="),
    ])
    func oneTrailingNewlineIsRemoved(input: String, stored: String) throws {
        #expect(try readSecret(input).testValue == stored)
    }

    @Test(arguments: ["", "\n", "\r\n", "fake-secret\n\n", "fake\nsecret", "fake\0secret"])
    func emptyOrMultiLineSecretsAreRefused(input: String) throws {
        #expect { try readSecret(input) } throws: { ($0 as? VaultError)?.code == .invalidInput && !"\($0)".contains("fake") }
    }

    @Test func overlongSecretIsRefused() throws {
        #expect { try readSecret(String(repeating: "x", count: 5000)) } throws: { ($0 as? VaultError)?.code == .invalidInput }
    }

    @Test(arguments: ["prod", "a", "orders-v2", "eu.west_1", String(repeating: "a", count: 63)])
    func validNames(name: String) throws {
        #expect(try Name(name).rawValue == name)
    }

    @Test(arguments: ["", "Prod", "-prod", ".hidden", "_x", "a/b", "a b", "ünï", "a;rm", String(repeating: "a", count: 64)])
    func invalidNames(name: String) {
        #expect { try Name(name) } throws: { ($0 as? VaultError)?.code == .invalidInput && "\($0)".contains("a-z") }
    }

    @Test(arguments: ["prod", "prod/", "/orders", "prod/orders/x", "Prod/orders"])
    func invalidClientRefs(text: String) {
        #expect { try ClientRef(text) } throws: { ($0 as? VaultError)?.code == .invalidInput }
    }

    @Test(arguments: [
        ("http://idp.example.test/token", false),
        ("https://user:pw@idp.example.test/token", false),
        ("https://idp.example.test/token#x", false),
        ("ftp://idp.example.test/token", false),
        ("idp.example.test/token", false),
        ("https://idp.example.test/realms/prod/protocol/openid-connect/token", true),
        ("http://127.0.0.1:8080/realms/prod/protocol/openid-connect/token", true),
        ("http://localhost:8080/token", true),
        ("http://[::1]:8080/token", true),
    ])
    func tokenURLsAreChecked(url: String, accepted: Bool) {
        let result = try? EndpointURL.validate(url, as: "the token URL", allowHTTP: false)
        #expect((result != nil) == accepted, Comment(rawValue: url))
    }

    @Test func plainHTTPElsewhereNeedsTheOptIn() throws {
        #expect(try EndpointURL.validate("http://idp.internal/token", as: "the token URL", allowHTTP: true) == "http://idp.internal/token")
    }

    @Test(arguments: [
        ("https://kc.example.test/realms/prod", "https://kc.example.test/admin/realms/prod"),
        ("https://kc.example.test/realms/prod/protocol/openid-connect/token", "https://kc.example.test/admin/realms/prod"),
        ("https://kc.example.test/auth/realms/prod", "https://kc.example.test/auth/admin/realms/prod"),
        ("http://127.0.0.1:8080/realms/r1/", "http://127.0.0.1:8080/admin/realms/r1"),
    ])
    func keycloakAdminURLIsDerived(from: String, admin: String) {
        #expect(EndpointURL.keycloakAdminURL(from: from) == admin)
    }

    @Test func nonKeycloakURLHasNoDerivedAdminURL() {
        #expect(EndpointURL.keycloakAdminURL(from: "https://login.example.test/oauth2/token") == nil)
    }

    /// `containsControlCharacters` reads UTF-8 bytes, `isControlCharacter` a scalar: they agree on
    /// every scalar of one and two bytes (where C0, DEL and C1 live) and on longer ones, alone and
    /// between other text.
    @Test func controlCharactersAreFoundInTheBytesAsInTheScalars() {
        let scalars = (0..<0x800).compactMap { Unicode.Scalar(UInt32($0)) }
            + [0x2028, 0xFEFF, 0x1F600, 0x10FFFF].compactMap { Unicode.Scalar(UInt32($0)) }
        var disagreements: [UInt32] = []
        for scalar in scalars {
            let text = String(Character(scalar))
            if text.containsControlCharacters != scalar.isControlCharacter
                || ("é" + text + "x").containsControlCharacters != scalar.isControlCharacter
                || ("é" + text + "x").dropFirst().containsControlCharacters != scalar.isControlCharacter {
                disagreements.append(scalar.value)
            }
        }
        #expect(disagreements.isEmpty)
        #expect(scalars.filter(\.isControlCharacter).count == 0x20 + 0x21)  // C0, then DEL and C1
    }
}
