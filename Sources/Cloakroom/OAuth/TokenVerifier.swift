#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
import Synchronization

/// Checks JWT access tokens against a realm's JWKS: signature, `exp`, and `iss` when the realm's
/// issuer is known.
///
/// Each key set is kept once fetched; a token naming a key that a kept set lacks makes one more
/// fetch (the realm may have rotated its keys since). A set fetched for this very check is not
/// fetched again: asking twice in a row would not change the answer.
final class TokenVerifier: Sendable {
    /// Where a realm's keys are, and what its tokens must say.
    struct Source: Sendable {
        var jwksURI: String
        var realm: Name
        var caFile: String?
        /// The realm's issuer, when it has one: `iss` must equal it.
        var issuer: String?
    }

    private let client: TokenClient
    private let keySets = Mutex<[String: JSONWebKeySet]>([:])

    init(client: TokenClient) {
        self.client = client
    }

    /// - Parameter source: `nil` when the realm's JWKS is not known.
    /// - Throws: `TokenError.verificationFailed` when something checked was wrong.
    func verify(_ token: String, source: Source?, now: Date) async throws(TokenError) -> SignatureCheck {
        guard let jwt = JWT(token) else { return .notVerified(reason: "the token is opaque (not a JWT); only its issuer can tell") }
        let name = jwt.header["alg"]?.string ?? "none"
        guard name != "none" else {
            throw .verificationFailed("the token is not signed (alg \"none\"); no resource server should accept it.")
        }
        guard let algorithm = SignatureAlgorithm(rawValue: name) else {
            let supported = SignatureAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")
            return .notVerified(reason: name.hasPrefix("HS")
                ? "\(name.prefix(10)) tokens are signed with a shared secret that a JWKS does not publish"
                : "algorithm \(name.prefix(20)) is not supported (\(supported) are)")
        }
        guard let source else {
            return .notVerified(reason: "Cloakroom does not know where the realm's JWKS is (a realm added by its issuer learns it from discovery; a Keycloak token URL implies it)")
        }
        let kid = jwt.header["kid"]?.string
        var fresh = false
        var set: JSONWebKeySet
        if let kept = keySets.withLock({ $0[source.jwksURI] }) {
            set = kept
        } else {
            do { set = try await fetch(source) } catch { return .notVerified(reason: "the JWKS could not be fetched: \(error)") }
            fresh = true
        }
        var key = set.key(id: kid, for: algorithm)
        if key == nil, !fresh {
            do { set = try await fetch(source) } catch { return .notVerified(reason: "the JWKS could not be fetched again: \(error)") }
            key = set.key(id: kid, for: algorithm)
        }
        guard let key else {
            throw .verificationFailed("realm \(source.realm)'s JWKS (\(source.jwksURI)) has no \(algorithm.rawValue) signing key \(kid.map { "with kid \($0)" } ?? "the token could use (it names no kid)"): the token was not signed by this realm's current keys.")
        }
        guard algorithm.isValid(jwt.signature, over: jwt.signingInput, with: key.material) else {
            throw .verificationFailed("the token's \(algorithm.rawValue) signature does not verify with key \(kid ?? "-") of realm \(source.realm)'s JWKS (\(source.jwksURI)): the token was altered, or not issued by this realm.")
        }
        if let expiry = jwt.expiresAt, expiry <= now {
            throw .verificationFailed("the token's signature is valid, but it expired at \(expiry) (exp).")
        }
        if let issuer = source.issuer {
            let claimed = jwt.claims["iss"]?.string
            guard claimed == issuer else {
                throw .verificationFailed("the token's signature is valid, but its issuer (iss) is \(claimed.map { String($0.prefix(200)) } ?? "missing"), not realm \(source.realm)'s issuer \(issuer).")
            }
        }
        return .verified(algorithm: algorithm.rawValue, keyID: kid, jwksURI: source.jwksURI, issuer: source.issuer)
    }

    private func fetch(_ source: Source) async throws(TokenError) -> JSONWebKeySet {
        let document = try await client.document(DocumentRequest(url: source.jwksURI, what: "the JWKS", realm: source.realm, caFile: source.caFile))
        let set = try JSONWebKeySet(document, url: source.jwksURI)
        keySets.withLock { $0[source.jwksURI] = set }
        return set
    }
}
