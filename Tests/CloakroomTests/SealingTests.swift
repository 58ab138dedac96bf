import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct SealingTests {
    let key = SealingKey.random()
    let secret = SecureBytes(copying: Array("fake-secret-for-sealing".utf8))

    func context(_ fields: String...) -> AssociatedData {
        var context = AssociatedData("test")
        fields.forEach { context.append($0) }
        return context
    }

    @Test func sealedValueOpensInItsOwnContext() throws {
        let box = key.seal(secret, authenticating: context("a", "b"))
        let opened = try #require(key.open(box, authenticating: context("a", "b")))
        #expect(opened.isEqual(to: secret))
    }

    @Test func everyFlippedByteIsDetected() {
        let box = key.seal(secret, authenticating: context("a"))
        for index in box.ciphertext.indices {
            var bad = box
            bad.ciphertext[index] ^= 0x01
            #expect(key.open(bad, authenticating: context("a")) == nil, "ciphertext byte \(index)")
        }
        for index in box.nonce.indices {
            var bad = box
            bad.nonce[index] ^= 0x80
            #expect(key.open(bad, authenticating: context("a")) == nil, "nonce byte \(index)")
        }
    }

    @Test func anotherContextOrKeyDoesNotOpen() {
        let box = key.seal(secret, authenticating: context("a", "bc"))
        #expect(key.open(box, authenticating: context("ab", "c")) == nil)  // length prefixes keep fields apart
        #expect(key.open(box, authenticating: context("a", "bc", "")) == nil)
        #expect(SealingKey.random().open(box, authenticating: context("a", "bc")) == nil)
    }

    @Test func nonceIsFreshEveryTime() {
        let a = key.seal(secret, authenticating: context())
        let b = key.seal(secret, authenticating: context())
        #expect(a.nonce != b.nonce)
        #expect(a.ciphertext != b.ciphertext)
    }

    @Test func subkeysDifferByPurpose() throws {
        let vaultKey = VaultKey.random()
        let secrets = vaultKey.subkey(for: .clientSecrets)
        let tokens = vaultKey.subkey(for: .cachedTokens)
        #expect(!secrets.bytes.isEqual(to: tokens.bytes))
        #expect(secrets.bytes.isEqual(to: vaultKey.subkey(for: .clientSecrets).bytes))
        let box = secrets.seal(secret, authenticating: context())
        #expect(tokens.open(box, authenticating: context()) == nil)
    }

    @Test func secretBearingValuesPrintRedacted() throws {
        let clientSecret = try ClientSecret("fake-very-visible-secret")
        let passphrase = Passphrase("fake-very-visible-passphrase")
        for text in [
            "\(clientSecret)", String(reflecting: clientSecret), dumped(clientSecret),
            "\(passphrase)", String(reflecting: passphrase), dumped(passphrase),
            "\(secret)", String(reflecting: secret), dumped(secret), dumped([clientSecret]),
        ] {
            #expect(!text.contains("fake-"), "leaked: \(text)")
            #expect(!text.contains("visible"))
        }
        #expect("\(clientSecret)" == "<redacted>")
    }

    private func dumped(_ value: Any) -> String {
        var text = ""
        dump(value, to: &text)
        return text
    }
}
