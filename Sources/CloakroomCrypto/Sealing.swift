internal import CSodium

/// A 32-byte XChaCha20-Poly1305-IETF key.
///
/// XChaCha's 24-byte nonces are drawn at random for every seal; at that size random nonces
/// never collide in practice, so no counter has to survive crashes or copies of the vault.
package struct SealingKey: Sendable {
    package static let byteCount = 32
    package let bytes: SecureBytes

    package init(_ bytes: SecureBytes) {
        precondition(bytes.count == Self.byteCount, "a sealing key is 32 bytes")
        self.bytes = bytes
    }

    package static func random() -> SealingKey { SealingKey(SecureBytes(randomCount: byteCount)) }

    package func seal(_ plaintext: SecureBytes, authenticating context: AssociatedData) -> SealedBox {
        seal(plaintext, authenticating: context, nonce: Sodium.randomBytes(SealedBox.nonceCount))
    }

    /// With a nonce drawn by the caller, for formats whose associated data includes the nonce
    /// (a bundle's header). It must be fresh and random, as the one above draws it.
    package func seal(_ plaintext: SecureBytes, authenticating context: AssociatedData, nonce: [UInt8]) -> SealedBox {
        precondition(nonce.count == SealedBox.nonceCount, "an XChaCha20 nonce is 24 bytes")
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count + SealedBox.tagCount)
        var written: UInt64 = 0
        let status = ciphertext.withUnsafeMutableBufferPointer { out in
            plaintext.withUnsafeBytes { message in
                bytes.withUnsafeBytes { key in
                    crypto_aead_xchacha20poly1305_ietf_encrypt(
                        out.baseAddress!, &written,
                        message.bindMemory(to: UInt8.self).baseAddress!, UInt64(message.count),
                        context.bytes, UInt64(context.bytes.count),
                        nil, nonce, key.bindMemory(to: UInt8.self).baseAddress!)
                }
            }
        }
        precondition(status == 0 && Int(written) == ciphertext.count, "XChaCha20-Poly1305 encryption cannot fail")
        return SealedBox(nonce: nonce, ciphertext: ciphertext)
    }

    /// The plaintext, or `nil` when the box was not sealed by this key for exactly this context
    /// (a flipped byte, a value moved to another row, another vault, another endpoint).
    package func open(_ box: SealedBox, authenticating context: AssociatedData) -> SecureBytes? {
        guard box.ciphertext.count >= SealedBox.tagCount else { return nil }
        var ok = false
        let plaintext = SecureBytes(count: box.ciphertext.count - SealedBox.tagCount) { out in
            ok = open(box, authenticating: context, into: out)
        }
        return ok ? plaintext : nil
    }

    /// Opens `box` into `out`, which must be exactly as long as the plaintext; whether it opened.
    /// For many values opened into one secure allocation (a bundle's export).
    package func open(_ box: SealedBox, authenticating context: AssociatedData, into out: UnsafeMutableRawBufferPointer) -> Bool {
        guard box.nonce.count == SealedBox.nonceCount, box.ciphertext.count == out.count + SealedBox.tagCount else { return false }
        var written: UInt64 = 0
        let status = box.ciphertext.withUnsafeBufferPointer { sealed in
            bytes.withUnsafeBytes { key in
                crypto_aead_xchacha20poly1305_ietf_decrypt(
                    out.bindMemory(to: UInt8.self).baseAddress!, &written, nil,
                    sealed.baseAddress!, UInt64(sealed.count),
                    context.bytes, UInt64(context.bytes.count),
                    box.nonce, key.bindMemory(to: UInt8.self).baseAddress!)
            }
        }
        return status == 0 && Int(written) == out.count
    }
}

/// A nonce and a ciphertext with its 16-byte Poly1305 tag, as stored in the vault.
package struct SealedBox: Sendable, Equatable {
    package static let nonceCount = 24
    package static let tagCount = 16
    package var nonce: [UInt8]
    package var ciphertext: [UInt8]

    package init(nonce: [UInt8], ciphertext: [UInt8]) {
        self.nonce = nonce
        self.ciphertext = ciphertext
    }
}

/// The context a sealed value is bound to: opening succeeds only with the same bytes.
///
/// Fields are length-prefixed so that no two different field lists encode alike
/// (`"ab","c"` and `"a","bc"` differ).
package struct AssociatedData: Sendable {
    private(set) var bytes: [UInt8] = []

    package init(_ purpose: String) {
        append(purpose)
    }

    package mutating func append(_ text: String) { append(bytes: Array(text.utf8)) }

    package mutating func append(_ number: Int64) {
        append(bytes: withUnsafeBytes(of: number.bigEndian) { Array($0) })
    }

    /// An absent field encodes differently from an empty one.
    package mutating func append(optional text: String?) {
        append(Int64(text == nil ? 0 : 1))
        append(text ?? "")
    }

    package mutating func append(bytes field: [UInt8]) {
        withUnsafeBytes(of: UInt32(field.count).bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: field)
    }
}
