internal import CSodium

/// A 32-byte key for keyed BLAKE2b-256 (`crypto_generichash`): authenticates data that stays
/// readable, such as the audit log, where sealing would hide what anyone may read anyway.
package struct MACKey: Sendable {
    package static let byteCount = 32
    /// The length of every tag.
    package static let tagCount = 32
    package let bytes: SecureBytes

    package init(_ bytes: SecureBytes) {
        precondition(bytes.count == Self.byteCount, "a MAC key is 32 bytes")
        self.bytes = bytes
    }

    /// The tag of `message`. Fields are length-prefixed by `AssociatedData`, so no two different
    /// field lists have the same tag input.
    package func tag(_ message: AssociatedData) -> [UInt8] {
        Sodium.digest(message.bytes, keyedBy: bytes, length: Self.tagCount)
    }

    /// Whether `tag` is this key's tag of `message`, compared in constant time.
    package func verify(_ tag: [UInt8], for message: AssociatedData) -> Bool {
        let expected = self.tag(message)
        guard tag.count == expected.count else { return false }
        return sodium_memcmp(tag, expected, expected.count) == 0
    }
}

extension VaultKey {
    /// The subkey for `purpose`, as a MAC key (same derivation as the sealing subkeys).
    package func macKey(for purpose: Purpose) -> MACKey {
        MACKey(subkey(for: purpose).bytes)
    }
}
