internal import CSodium

/// The 32 random bytes that seal everything secret in one vault.
///
/// It is never stored in clear: each keyslot holds it sealed under one unlock method's KEK.
/// Values are sealed with purpose-specific subkeys derived from it, so that a bug in one
/// purpose (say, the token cache) can never open another's values.
package struct VaultKey: Sendable {
    package let key: SealingKey

    package init(key: SealingKey) { self.key = key }

    package static func random() -> VaultKey { VaultKey(key: .random()) }

    /// Subkeys by purpose. The numbers are part of the vault format: never reuse or renumber one.
    package enum Purpose: UInt64 {
        case clientSecrets = 1
        case cachedTokens = 2
        case auditLog = 3
        case realmTrust = 4
        /// The tag of each client row (migration 0008).
        case clientTrust = 5
        /// The tag of each agent consumer (migration 0010).
        case consumerTrust = 6
    }

    package func subkey(for purpose: Purpose) -> SealingKey {
        // crypto_kdf contexts are exactly 8 bytes.
        let context: [CChar] = Array("cloakrm1".utf8CString)
        return SealingKey(SecureBytes(count: SealingKey.byteCount) { out in
            let status = key.bytes.withUnsafeBytes { master in
                crypto_kdf_derive_from_key(
                    out.bindMemory(to: UInt8.self).baseAddress!, SealingKey.byteCount,
                    purpose.rawValue, context, master.bindMemory(to: UInt8.self).baseAddress!)
            }
            precondition(status == 0, "crypto_kdf_derive_from_key cannot fail for a 32-byte subkey")
        })
    }
}
