#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What an issuer's discovery document (OIDC Discovery 1.0) says that Cloakroom uses: where to
/// ask for tokens and where the realm's signing keys are.
///
/// An issuer realm's client secrets are sealed for the issuer, not for this token endpoint: the
/// issuer (reached over verified TLS) is the trust anchor, and the token endpoint is whatever its
/// document names — after checking that the document is the issuer's own (§4.3) and that the
/// endpoint passes the realm's URL policy.
public struct ProviderMetadata: Sendable, Equatable {
    /// The issuer, exactly as configured and as the document names it.
    public var issuer: String
    /// The token endpoint the document names, checked against the realm's URL policy.
    public var tokenEndpoint: String
    /// The realm's JWKS, when the document names one.
    public var jwksURI: String?
    /// When the document was fetched.
    public var discoveredAt: Date

    /// Metadata as discovered, for tests and for callers that stored it.
    public init(issuer: String, tokenEndpoint: String, jwksURI: String?, discoveredAt: Date) {
        self.issuer = issuer
        self.tokenEndpoint = tokenEndpoint
        self.jwksURI = jwksURI
        self.discoveredAt = discoveredAt
    }

    /// Where the document of `issuer` lives: OIDC Discovery §4 removes one trailing `/` before
    /// appending the well-known path.
    static func discoveryURL(for issuer: String) -> String {
        (issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer) + "/.well-known/openid-configuration"
    }

    /// Checks `document` as fetched from `issuer`'s discovery URL.
    /// - Throws: `TokenError.malformedResponse` when the document is another issuer's or lacks a
    ///   token endpoint; `.refused` when an endpoint breaks the realm's URL policy.
    static func validated(_ document: [String: JSONValue], issuer: String, realm: Name, allowsInsecureHTTP: Bool,
                          at now: Date) throws(TokenError) -> ProviderMetadata {
        // §4.3: exactly equal, byte for byte: a document that names another issuer is not this
        // issuer's, whatever served it (a proxy, a typo, a trailing slash).
        guard let named = document["issuer"]?.string else {
            throw .malformedResponse(.init("the discovery document at \(discoveryURL(for: issuer)) names no issuer; is \(issuer) an OpenID Connect issuer? Otherwise the realm needs its token endpoint.", realm: realm, next: [.updateRealm(realm, .tokenURL)]))
        }
        guard named == issuer else {
            // Escaped: the document's text reaches the terminal (found by fuzzing).
            let named = named.escapingControlCharacters
            throw .malformedResponse(.init("the discovery document at \(discoveryURL(for: issuer)) is for issuer \(named.prefix(200)), not \(issuer) (OpenID Connect Discovery §4.3 requires them to be identical).", realm: realm, next: [.useIssuer(String(named.prefix(200)))]))
        }
        guard let tokenEndpoint = document["token_endpoint"]?.string else {
            throw .malformedResponse(.init("the discovery document of \(issuer) names no token_endpoint.", realm: realm, next: [.updateRealm(realm, .tokenURL)]))
        }
        func checked(_ url: String, _ field: String) throws(TokenError) -> String {
            do {
                return try EndpointURL.validate(url, as: "the \(field) that \(issuer) announces", allowHTTP: allowsInsecureHTTP)
            } catch {
                throw .refused("\(error) (realm \(realm); nothing was changed)")
            }
        }
        return ProviderMetadata(
            issuer: issuer, tokenEndpoint: try checked(tokenEndpoint, "token_endpoint"),
            jwksURI: try document["jwks_uri"]?.string.map { url throws(TokenError) in try checked(url, "jwks_uri") },
            discoveredAt: now)
    }
}

extension TokenClient {
    /// Fetches and checks the discovery document of `issuer`.
    /// - Parameter retrying: retry what may pass until the deadline (a token request), or try once
    ///   (`realm add`, which adds the realm anyway when the issuer cannot be reached).
    func discover(issuer: String, realm: Name, caFile: String?, allowsInsecureHTTP: Bool,
                  retrying: Bool = true) async throws(TokenError) -> ProviderMetadata {
        let document = try await document(DocumentRequest(
            url: ProviderMetadata.discoveryURL(for: issuer), what: "the discovery document", realm: realm, caFile: caFile,
            retrying: retrying))
        return try ProviderMetadata.validated(document, issuer: issuer, realm: realm, allowsInsecureHTTP: allowsInsecureHTTP, at: clock())
    }
}
