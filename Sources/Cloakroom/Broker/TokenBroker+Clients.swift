extension TokenBroker {
    /// What a client's audit event says of the token request that checked it.
    static let verifiedNote = "verified with a token request"

    /// Adds client `ref` with `secret` sealed as its version 1, after asking the identity
    /// provider for a token with it: a wrong secret or client_id is refused now, not at the first
    /// `token(for:)` hours later. That token is cached, so the first `token(for:)` asks nothing.
    ///
    /// ```swift
    /// try await broker.addClient(ClientRef("prod/orders"), ClientSettings(clientID: "orders-svc"), secret: secret)
    /// ```
    /// - Parameter rotateEvery: how often `cloak rotate --due` rotates it (`nil`: only when asked).
    /// - Parameter verify: `false` stores it unchecked: offline, or for an IdP not set up yet.
    /// - Throws: `TokenError` when the IdP refuses the credential or cannot be asked (nothing is
    ///   stored then); `VaultError` as `UnlockedVault.addClient`.
    @discardableResult
    public func addClient(_ ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret, rotateEvery: Duration? = nil,
                          verify: Bool = true) async throws -> Client {
        var trial: (TokenRequest, AccessToken)?
        if verify {
            let request = try await vault.run { vault in
                try vault.requireNoClient(ref)  // before a request is spent on a name that is taken
                return try vault.trialRequest(for: ref, settings, secret: secret)
            }
            trial = (request, try await send(request))
        }
        let checked = trial != nil
        let client = try await vault.run {
            try $0.addClient(ref, settings, secret: secret, rotateEvery: rotateEvery, verifiedBy: checked ? Self.verifiedNote : nil)
        }
        if let (request, token) = trial { _ = await keep(token, for: Key(client: ref, shape: TokenRequestShape()), secretVersion: 1, shape: request.shape) }
        return client
    }

    /// Changes client `ref` to `target` as `UnlockedVault.updateClient` does, after asking the
    /// identity provider for a token as the client will ask once changed (with `secret`, else its
    /// current one), when anything a token request sends changes. That token is cached.
    ///
    /// ```swift
    /// var change = ClientChange(try vault.vault.client(ref))
    /// change.settings.clientID = "orders-svc"
    /// try await broker.updateClient(ref, to: change)
    /// ```
    /// - Parameter verify: `false` changes it unchecked.
    /// - Throws: `TokenError` when the IdP refuses what would be stored or cannot be asked
    ///   (nothing is changed then); `VaultError` as `UnlockedVault.updateClient`.
    @discardableResult
    public func updateClient(_ ref: ClientRef, to target: ClientChange, secret: ClientSecret? = nil, verify: Bool = true) async throws -> ClientUpdate {
        var trial: (TokenRequest, AccessToken)?
        // Checked first: a row changed outside cloak must not have a secret sent on its behalf.
        let before = try await vault.run { vault in
            try vault.requireAuthentic(ref)
            return try vault.vault.client(ref)
        }
        if verify, secret != nil || target.settings != before.settings {
            let request = try await vault.run { try $0.trialRequest(for: ref, target.settings, secret: secret) }
            trial = (request, try await send(request))
        }
        let checked = trial != nil
        var update = try await vault.run { try $0.updateClient(ref, to: target, secret: secret, verifiedBy: checked ? Self.verifiedNote : nil) }
        forget(ref)
        if let (request, token) = trial, let version = update.client.secretVersion {
            _ = await keep(token, for: Key(client: update.client.ref, shape: TokenRequestShape()), secretVersion: version, shape: request.shape)
            update.verified = true
        }
        return update
    }
}
