import Synchronization

extension TokenBroker {
    /// Checks `token`, one of `client`'s, against the JWKS of the client's realm: the signature
    /// with the key its `kid` names, `exp`, and `iss` when the realm has an issuer.
    ///
    /// The JWKS is the one the issuer's discovery document names (asked now if it has not been),
    /// or, for a realm with a Keycloak-shaped token URL, that URL's `…/certs` sibling. Key sets are
    /// kept by the broker and fetched again once for a `kid` they lack.
    ///
    /// - Returns: `.verified` with what was checked, or `.notVerified` with why nothing could be
    ///   (no JWKS known or reachable, an algorithm a public key cannot verify).
    /// - Throws: `TokenError.verificationFailed` for a wrong signature, an unknown key, an expired
    ///   token or another issuer; `VaultError` for an unknown client.
    public func verify(_ token: AccessToken, for client: String) async throws -> SignatureCheck {
        try await verify(token, for: try ClientRef(client))
    }

    /// `verify(_:for:)` for a `ClientRef`.
    /// - Throws: as the other.
    public func verify(_ token: AccessToken, for ref: ClientRef) async throws -> SignatureCheck {
        let (realm, discovered) = try await vault.run { vault in
            let realm = try vault.vault.realm(named: ref.realm)
            return (realm, try vault.discovery(of: realm))
        }
        var source: TokenVerifier.Source?
        if realm.tokenURL == nil, let issuer = realm.issuer {
            var metadata = discovered
            if metadata == nil {
                do {
                    metadata = try await discover(issuer, realm: realm.name, caFile: realm.caFile, allowsInsecureHTTP: realm.allowsInsecureHTTP)
                } catch let error as TokenError {
                    return .notVerified(reason: "the issuer could not say where its JWKS is: \(error)")
                }
            }
            guard let jwksURI = metadata?.jwksURI else {
                return .notVerified(reason: "the discovery document of \(issuer) names no jwks_uri")
            }
            source = TokenVerifier.Source(jwksURI: jwksURI, realm: realm.name, caFile: realm.caFile, issuer: issuer)
        } else if let tokenURL = realm.tokenURL, let jwksURI = EndpointURL.keycloakJWKSURL(fromTokenURL: tokenURL) {
            source = TokenVerifier.Source(jwksURI: jwksURI, realm: realm.name, caFile: realm.caFile, issuer: realm.issuer)
        }
        return try await verifier.verify(token.value, source: source, now: configuration.clock())
    }
}
