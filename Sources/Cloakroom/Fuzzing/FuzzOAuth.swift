import CloakroomHTTP

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The OAuth harness: everything an identity provider (or whoever answers in its place) sends
/// that Cloakroom parses. The same input is tried as each document: a token response, an error
/// body, a JWT (the whole input as text), a JWKS — with the JWT in its `"token"` member checked
/// against it — a discovery document, and a `Retry-After` value.
enum FuzzOAuth {
    static let sentAt = Date(timeIntervalSince1970: 1_800_000_000)
    static let issuer = "https://idp.example.com/realms/prod"
    static let realm = Name(trusted: "prod")

    static func run(_ data: UnsafeRawBufferPointer, _ violations: inout Violations) {
        let bytes = Array(data)
        tokenResponse(bytes, &violations)
        let (code, description) = TokenResponse.error(from: bytes)
        for text in [code, description].compactMap({ $0 }) {
            violations.check(!hasControlCharacters(text) && text.unicodeScalars.count <= 200, "an error field shown as \(text.debugDescription)")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if let jwt = JWT(text) { self.jwt(jwt, &violations) }
        _ = HTTPReply.retryAfter(text)
        guard case .object(let document)? = JSONReader.read(bytes) else { return }
        keySet(document, &violations)
        discovery(document, issuer: issuer, &violations)
        // Also as the named issuer's own document, when that could be a realm's issuer (validate
        // keeps control characters out of a stored one: issue 9 item 3), to reach the endpoint checks.
        if let named = document["issuer"]?.string, !hasControlCharacters(named) { discovery(document, issuer: named, &violations) }
    }

    private static func tokenResponse(_ bytes: [UInt8], _ violations: inout Violations) {
        do {
            let token = try TokenResponse.token(from: bytes, sentAt: sentAt)
            violations.check(!token.value.isEmpty && token.value.utf8.allSatisfy { (0x21...0x7e).contains($0) }, "an access_token a bearer header cannot hold")
            // The cache keeps both times as Int64 milliseconds, and `cloak token` prints them.
            violations.check(isStorable(token.expiresAt), "a token expiring at \(token.expiresAt.timeIntervalSince1970), which cannot be cached or shown")
            _ = token.scope
        } catch {
            violations.check(!hasControlCharacters(error.description), "a message with control characters: \(error.description.debugDescription)")
        }
    }

    private static func jwt(_ jwt: JWT, _ violations: inout Violations) {
        violations.check(jwt.expiresAt.map(isStorable) ?? true, "a JWT whose exp (\(jwt.expiresAt?.timeIntervalSince1970 ?? 0)) cannot be stored or shown")
        // `cloak inspect` prints these as ISO 8601 times, whatever number the token holds.
        for claim in ["exp", "iat", "nbf", "auth_time"] {
            if let seconds = jwt.claims[claim]?.number { _ = Date(timeIntervalSince1970: seconds).iso8601 }
        }
        _ = SignatureAlgorithm(rawValue: jwt.header["alg"]?.string ?? "none")
    }

    /// The set's keys, and the JWT in `"token"` checked with the key it names.
    private static func keySet(_ document: [String: JSONValue], _ violations: inout Violations) {
        guard let set = try? JSONWebKeySet(document, url: "https://idp.example.com/certs") else { return }
        let jwt = document["token"]?.string.flatMap(JWT.init)
        let kid = jwt?.header["kid"]?.string
        for algorithm in SignatureAlgorithm.allCases {
            guard let key = set.key(id: kid, for: algorithm) else { continue }
            violations.check(kid == nil || key.kid == kid, "a key \(key.kid ?? "-") chosen for kid \(kid ?? "-")")
            if let jwt { _ = algorithm.isValid(jwt.signature, over: jwt.signingInput, with: key.material) }
        }
    }

    private static func discovery(_ document: [String: JSONValue], issuer: String, _ violations: inout Violations) {
        for allowHTTP in [false, true] {
            do {
                let metadata = try ProviderMetadata.validated(document, issuer: issuer, realm: realm, allowsInsecureHTTP: allowHTTP, at: sentAt)
                violations.check(metadata.issuer == issuer, "metadata for another issuer")
                for url in [metadata.tokenEndpoint] + (metadata.jwksURI.map { [$0] } ?? []) {
                    violations.check((try? EndpointURL.validate(url, as: "again", allowHTTP: allowHTTP)) == url, "an announced URL that fails validation when checked again")
                }
                _ = EndpointURL.keycloakJWKSURL(fromTokenURL: metadata.tokenEndpoint)
            } catch {
                // A refusal by the URL policy quotes EndpointURL.validate's message: issue 9 item 3's.
                let owner = if case .refused = error { FuzzValidation.urlContract } else { "" }
                violations.check(!hasControlCharacters(error.description), owner + "a message with control characters: \(error.description.debugDescription)")
            }
        }
    }

    /// Whether a time converts to the cache's Int64 milliseconds and to ISO 8601 without trapping.
    static func isStorable(_ date: Date) -> Bool {
        let seconds = date.timeIntervalSince1970
        return seconds.isFinite && abs(seconds) < 9e15
    }
}
