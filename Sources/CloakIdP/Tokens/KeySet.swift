import _CryptoExtras

/// The keys a realm publishes at `…/certs`: the signing key and, like Keycloak 26, an
/// encryption key that must not be used to verify tokens.
public struct KeySet: Sendable {
    /// The key that signs every token.
    public let signing: SigningKey
    let encryptionJWK: JSONObject?

    /// A key set with a fresh signing key and, when asked, a fresh encryption key.
    /// - Throws: when key generation fails.
    public static func generate(withEncryptionKey: Bool = true) throws -> KeySet {
        try KeySet(signing: SigningKey.generate(), withEncryptionKey: withEncryptionKey)
    }

    /// A key set around an existing signing key.
    /// - Throws: when generating the encryption key fails.
    public init(signing: SigningKey, withEncryptionKey: Bool = true) throws {
        self.signing = signing
        if withEncryptionKey {
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048).publicKey.getKeyPrimitives()
            let n = Base64.urlEncoded(key.modulus)
            let e = Base64.urlEncoded(key.publicExponent)
            let thumbprint = "{\"e\":\"\(e)\",\"kty\":\"RSA\",\"n\":\"\(n)\"}"
            let kid = SigningKey.thumbprint(thumbprint)
            encryptionJWK = ["kid": .string(kid), "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": .string(n), "e": .string(e)]
        } else {
            encryptionJWK = nil
        }
    }

    /// `{"keys":[…]}`; the encryption key comes first so that taking `keys[0]` is caught.
    var jwks: JSONValue {
        var keys: [JSONValue] = []
        if let encryptionJWK { keys.append(.object(encryptionJWK)) }
        keys.append(.object(signing.jwk))
        return ["keys": .array(keys)]
    }
}
