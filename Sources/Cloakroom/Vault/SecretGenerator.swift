import CloakroomCrypto

extension ClientSecret {
    /// Keycloak's alphabet for generated secrets (`SecretGenerator`: A–Z a–z 0–9).
    static let keycloakAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// The length of a secret Cloakroom generates, unless told otherwise: what Keycloak 26.7+
    /// generates itself (86 characters, 512 bits), so a rotated client looks like a fresh one.
    public static let defaultGeneratedLength = 86

    /// A new secret of `length` characters drawn uniformly from Keycloak's alphabet with
    /// libsodium's CSPRNG (without modulo bias: `SecureBytes(randomFrom:count:)`), written straight
    /// into secure memory.
    /// - Throws: `VaultError.invalidInput` unless `length` is 22…255 (at least 128 bits, and
    ///   within Keycloak's 255-character secret column).
    public static func generated(length: Int = defaultGeneratedLength) throws -> ClientSecret {
        guard (22...255).contains(length) else {
            throw VaultError(.invalidInput, "a generated secret must be 22 to 255 characters long (22 gives 128 bits; Keycloak stores at most 255).")
        }
        return try ClientSecret(validating: SecureBytes(randomFrom: keycloakAlphabet, count: length))
    }

    /// Constant-time equality: whether two secrets are the same, without saying where they differ.
    public func matches(_ other: ClientSecret) -> Bool { bytes.isEqual(to: other.bytes) }
}
