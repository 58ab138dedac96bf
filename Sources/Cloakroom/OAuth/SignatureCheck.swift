/// What could be said about a token's signature: exactly what was checked, or why nothing was.
///
/// A signature that was checked and failed is not a `SignatureCheck`: it is thrown as
/// `TokenError.verificationFailed`, so that it cannot be mistaken for a token that is merely
/// unverified.
public enum SignatureCheck: Sendable, Equatable, CustomStringConvertible {
    /// The signature verified with the realm's key `keyID` from `jwksURI`; `exp` had not passed;
    /// and `iss` equalled `issuer`, when the realm has an issuer to compare with.
    case verified(algorithm: String, keyID: String?, jwksURI: String, issuer: String?)
    /// Nothing was checked, and why (no JWKS known, the JWKS unreachable, an algorithm a public
    /// key cannot verify).
    case notVerified(reason: String)

    /// Whether the signature was checked and verified.
    public var isVerified: Bool { if case .verified = self { true } else { false } }

    /// What `cloak inspect` prints: `verified (RS256, kid …, JWKS …; exp checked, iss is …)` or
    /// `NOT verified: …`.
    public var description: String {
        switch self {
        case .verified(let algorithm, let keyID, let jwksURI, let issuer):
            "verified (\(algorithm), kid \(keyID ?? "-"), JWKS \(jwksURI); exp checked, "
                + (issuer.map { "iss is \($0)" } ?? "iss not checked: the realm has no issuer") + ")"
        case .notVerified(let reason):
            "NOT verified: \(reason)"
        }
    }
}
