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

/// Small secure allocations reuse pooled blocks; a block is zeroed before anyone gets it again.
@Suite struct SecurePoolTests {
    @Test func aReleasedBlockIsZeroedBeforeItIsReused() {
        var reused = 0
        for _ in 0..<20 {
            var address: UInt = 0
            do {
                let secret = SecureBytes(count: 100) { buffer in
                    buffer.initializeMemory(as: UInt8.self, repeating: 0xAB)
                    address = UInt(bitPattern: buffer.baseAddress)
                }
                #expect(secret.withUnsafeBytes { $0.allSatisfy { $0 == 0xAB } })
            }
            // Released: the next block of its size is usually the same one (other tests may take
            // it first, hence the retries). Whatever a reused block held is gone.
            _ = SecureBytes(count: 100) { buffer in
                guard UInt(bitPattern: buffer.baseAddress) == address else { return }
                reused += 1
                #expect(UnsafeRawBufferPointer(buffer).allSatisfy { $0 == 0 }, "a reused block still held the last secret")
            }
            if reused >= 3 { break }
        }
        #expect(reused >= 3, "the pool never handed a released block back")
    }

    @Test func largeAllocationsAreTheirOwnAndSlicesStillWork() {
        let large = SecureBytes(copying: Array(repeating: UInt8(7), count: 20_000))
        let slice = SecureBytes(slice: 19_990..<20_000, of: large)
        #expect(slice.withUnsafeBytes { Array($0) } == Array(repeating: 7, count: 10))
        let empty = SecureBytes(copying: [UInt8]())
        #expect(empty.count == 0 && empty.isEqual(to: SecureBytes(copying: [UInt8]())))
    }
}
