internal import CSodium

/// The key that seals one bundle (see `SealedBundle` for the file format): Argon2id of a
/// passphrase, or a subkey of a key file. Never the vault key: a bundle travels apart from the
/// vault, and whoever opens it must not thereby hold a key to the vault it came from.
///
/// All of a bundle's cryptography lives here, behind the crypto target's wall: key derivation,
/// the key check, the one AEAD seal over the whole payload, and the plain checksum.
package struct BundleKey {
    package let key: SealingKey

    /// A passphrase's bundle key, or `nil` when the machine cannot spare Argon2id's memory.
    /// Argon2id's salt and cost are stored in the bundle's header.
    package static func deriving(from passphrase: Passphrase, cost: Argon2Parameters, salt: [UInt8]) -> BundleKey? {
        cost.deriveKey(from: passphrase, salt: salt).map(BundleKey.init(key:))
    }

    /// A key file's bundle key: a `crypto_kdf` subkey of its 32 bytes, so the same file used as a
    /// vault keyslot and as a bundle key never seals two formats under one key.
    package static func deriving(fromKeyFile file: SealingKey) -> BundleKey {
        let context: [CChar] = Array("cloakbdl".utf8CString)  // crypto_kdf contexts are exactly 8 bytes
        return BundleKey(key: SealingKey(SecureBytes(count: SealingKey.byteCount) { out in
            let status = file.bytes.withUnsafeBytes { master in
                crypto_kdf_derive_from_key(
                    out.bindMemory(to: UInt8.self).baseAddress!, SealingKey.byteCount, 1, context,
                    master.bindMemory(to: UInt8.self).baseAddress!)
            }
            precondition(status == 0, "crypto_kdf_derive_from_key cannot fail for a 32-byte subkey")
        }))
    }

    package static let saltCount = Argon2Parameters.saltCount
    package static let checkCount = 16

    package static func randomSalt() -> [UInt8] { Sodium.randomBytes(saltCount) }
    package static func randomNonce() -> [UInt8] { Sodium.randomBytes(SealedBox.nonceCount) }

    /// 16 bytes that say whether a passphrase was the right one before anything is decrypted,
    /// so that a wrong passphrase and an altered bundle get different messages. It helps a
    /// guesser no more than the Poly1305 tag already does: each guess still costs one Argon2id.
    package var check: [UInt8] {
        Sodium.digest(Array("cloakroom bundle key check v1".utf8), keyedBy: key.bytes, length: Self.checkCount)
    }

    /// Whether `check` is this key's, compared in constant time.
    package func matches(check stored: [UInt8]) -> Bool {
        let expected = check
        return stored.count == expected.count && sodium_memcmp(stored, expected, expected.count) == 0
    }

    /// The whole payload as one XChaCha20-Poly1305 ciphertext (with its tag), the header
    /// (nonce included) as associated data.
    package func seal(_ payload: SecureBytes, header: [UInt8], nonce: [UInt8]) -> [UInt8] {
        key.seal(payload, authenticating: Self.context(header), nonce: nonce).ciphertext
    }

    /// The payload, or `nil` when any byte of the header or the ciphertext was changed.
    package func open(_ ciphertext: [UInt8], header: [UInt8], nonce: [UInt8]) -> SecureBytes? {
        key.open(SealedBox(nonce: nonce, ciphertext: ciphertext), authenticating: Self.context(header))
    }

    private static func context(_ header: [UInt8]) -> AssociatedData {
        var context = AssociatedData("cloakroom bundle v1")
        context.append(bytes: header)
        return context
    }

    /// BLAKE2b-256 of `bytes`, unkeyed: the bundle's trailing checksum, which tells accidental
    /// damage and truncation apart from a wrong key without running Argon2id. It proves nothing
    /// against a deliberate change (anyone can recompute it); the AEAD tag does that.
    /// `head -c -32 FILE | b2sum -l 256` computes the same.
    package static func checksum(_ bytes: ArraySlice<UInt8>) -> [UInt8] { Sodium.digest(bytes, length: 32) }
}
