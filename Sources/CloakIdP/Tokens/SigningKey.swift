import _CryptoExtras
import Crypto
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The realm key pair that signs tokens with RS256, as Keycloak's default `rsa-generated` key.
///
/// One key signs for every realm: each realm in Keycloak has its own, but nothing a broker can
/// observe depends on that beyond the `kid`, which is per key here too.
public struct SigningKey: Sendable {
    let privateKey: _RSA.Signing.PrivateKey
    let publicKey: _RSA.Signing.PublicKey
    /// The key id: the RFC 7638 thumbprint, stable for a given key.
    public let kid: String
    let jwk: JSONObject

    /// Generates a fresh 2048-bit key (Keycloak's default size).
    /// - Throws: when the crypto library cannot generate a key.
    public static func generate() throws -> SigningKey {
        try SigningKey(privateKey: _RSA.Signing.PrivateKey(keySize: .bits2048))
    }

    /// Loads a PEM private key (PKCS#1 or PKCS#8), so tokens verify across restarts.
    /// - Throws: when the text is not an RSA private key of at least 2048 bits.
    public init(pem: String) throws {
        try self.init(privateKey: _RSA.Signing.PrivateKey(pemRepresentation: pem))
    }

    /// The private key in PEM, to save a generated key for later runs.
    public var pemRepresentation: String { privateKey.pemRepresentation }

    init(privateKey: _RSA.Signing.PrivateKey) throws {
        self.privateKey = privateKey
        self.publicKey = privateKey.publicKey
        let primitives = try publicKey.getKeyPrimitives()
        let n = Base64.urlEncoded(primitives.modulus)
        let e = Base64.urlEncoded(primitives.publicExponent)
        // RFC 7638: members in lexicographic order, no whitespace.
        let thumbprintInput = "{\"e\":\"\(e)\",\"kty\":\"RSA\",\"n\":\"\(n)\"}"
        kid = SigningKey.thumbprint(thumbprintInput)
        jwk = ["kid": .string(kid), "kty": "RSA", "alg": "RS256", "use": "sig", "n": .string(n), "e": .string(e)]
    }

    static func thumbprint(_ canonicalJWK: String) -> String {
        Base64.urlEncoded(Array(SHA256.hash(data: Array(canonicalJWK.utf8))))
    }

    /// `base64url(header).base64url(payload).base64url(signature)` for a claims object.
    func sign(claims: String) throws -> String {
        let header = "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"\(kid)\"}"
        let signingInput = Base64.urlEncoded(header.utf8) + "." + Base64.urlEncoded(claims.utf8)
        // About 0.8 ms of CPU on the 2-core dev machine: this call, not HTTP, bounds the token
        // endpoint's throughput (scripts/bench-idp.sh).
        let signature = try privateKey.signature(for: SHA256.hash(data: Array(signingInput.utf8)), padding: .insecurePKCS1v1_5)
        return signingInput + "." + Base64.urlEncoded(signature.rawRepresentation)
    }

    /// The claims of a JWT this key signed, or `nil` when the signature, header or format is wrong.
    func verifiedClaims(of token: some StringProtocol) -> JSONObject? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3,
            let headerBytes = Base64.decode(parts[0]),
            let header = try? JSONParser.parse(headerBytes),
            header["alg"] == "RS256",
            let signatureBytes = Base64.decode(parts[2]),
            let claimBytes = Base64.decode(parts[1]),
            let claims = (try? JSONParser.parse(claimBytes))?.objectValue
        else { return nil }
        let signingInput = Array(token.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        let signature = _RSA.Signing.RSASignature(rawRepresentation: signatureBytes)
        guard publicKey.isValidSignature(signature, for: SHA256.hash(data: signingInput), padding: .insecurePKCS1v1_5) else {
            return nil
        }
        return claims
    }

    /// The public key as Keycloak's realm endpoint prints it: base64 DER SubjectPublicKeyInfo.
    var publicKeyBase64: String { Base64.encoded(publicKey.derRepresentation) }
}

extension TokenIssuer {
    /// OIDC `at_hash`: the left half of SHA-256 of the access token, base64url.
    static func accessTokenHash(_ token: String) -> String {
        Base64.urlEncoded(Array(SHA256.hash(data: Array(token.utf8))).prefix(16))
    }
}
