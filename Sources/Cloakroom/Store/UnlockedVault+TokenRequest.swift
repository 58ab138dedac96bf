import CloakroomStore
extension UnlockedVault {
    /// What a token request for `ref` needs, with the current secret opened, and that secret's
    /// version (the cache entry is bound to it). Only a *current* secret is ever used here.
    ///
    /// For a realm added by issuer, the token URL is the one its discovery document named (and
    /// `issuer` is set, so the caller can discover it again); it is empty when the issuer has not
    /// been asked yet, or its stored answer does not open with the vault key.
    /// - Throws: `VaultError` `.notFound`, `.corrupted`.
    func tokenRequest(for ref: ClientRef, _ shape: TokenRequestShape) throws -> (TokenRequest, secretVersion: Int) {
        try tokenRequest(for: ref, shape, secret: nil)
    }

    private func tokenRequest(for ref: ClientRef, _ shape: TokenRequestShape, secret: ClientSecret?) throws -> (TokenRequest, secretVersion: Int) {
        // One snapshot: the rows checked are the rows used.
        try vault.store.read { try checkedTokenRequest(for: ref, shape, secret: secret) }
    }

    private func checkedTokenRequest(for ref: ClientRef, _ shape: TokenRequestShape, secret: ClientSecret?) throws -> (TokenRequest, secretVersion: Int) {
        let realm = try vault.realm(named: ref.realm)
        // The client first: after a realm-name swap its message names the client asked for.
        try requireAuthentic(ref)
        try requireTrusted(realm)
        let client = try vault.client(ref)
        guard let version = client.secretVersion else {
            throw VaultError(.corrupted, "\(ref) has no current secret; it must be stored again.", client: ref, next: [.storeSecretAgain(ref)])
        }
        let secret = try secret ?? openCurrentSecret(of: ref)
        return (try request(ref, at: realm, client.settings, secret: secret, shape: shape.with(defaults: client)), version)
    }

    /// A request to `realm`'s token endpoint with `settings` and `secret`. For a realm added by
    /// issuer, the endpoint its discovery document named, or empty when it has not been asked yet.
    private func request(_ ref: ClientRef, at realm: Realm, _ settings: ClientSettings, secret: ClientSecret,
                         shape: TokenRequestShape) throws -> TokenRequest {
        let discovered = realm.tokenURL == nil ? try discovery(of: realm) : nil
        return TokenRequest(
            tokenURL: realm.tokenURL ?? discovered?.tokenEndpoint ?? "", issuer: realm.tokenURL == nil ? realm.issuer : nil,
            caFile: realm.caFile, allowsInsecureHTTP: realm.allowsInsecureHTTP,
            clientID: settings.clientID, authMethod: settings.authMethod, secret: secret, shape: shape, ref: ref)
    }

    /// The everyday request `ref` would make if it were stored with `settings` and `secret`
    /// (`nil`: its current one): what adding or changing a client checks with the IdP before
    /// anything is written. Its token is the one the client's first `cloak token` would get.
    /// - Throws: `VaultError` `.notFound` (realm, or the client when `secret` is `nil`),
    ///   `.invalidInput`, `.corrupted`.
    func trialRequest(for ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret?) throws -> TokenRequest {
        let settings = try settings.validated()
        return try vault.store.read {
            let realm = try vault.realm(named: ref.realm)
            try requireTrusted(realm)
            let secret = try secret ?? currentSecret(of: ref)
            return try request(ref, at: realm, settings, secret: secret, shape: TokenRequestShape(scopes: settings.scopes, audience: settings.audience))
        }
    }

    /// The one request a pending secret can make: rotation's *verify* step, shaped like the
    /// client's everyday request. Its token proves the IdP accepts the secret and is never cached.
    func verificationRequest(for ref: ClientRef, with pending: PendingSecret) throws -> TokenRequest {
        var (request, _) = try tokenRequest(for: ref, TokenRequestShape(), secret: pending.secret)
        request.purpose = .verification(version: pending.version)
        return request
    }
}

extension TokenRequestShape {
    /// The client's stored scopes and audience apply when the request names none.
    func with(defaults client: Client) -> TokenRequestShape {
        TokenRequestShape(scopes: scopes.isEmpty ? client.scopes : scopes, audience: audience ?? client.audience)
    }
}
