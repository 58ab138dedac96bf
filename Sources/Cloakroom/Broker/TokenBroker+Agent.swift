import CloakroomStore
extension TokenBroker {
    /// Runs `body` with the broker's vault, on the vault's own thread: for a long-running owner of
    /// the broker (the agent) that lists clients or checks the vault without a second connection.
    package func withVault<T: Sendable>(_ body: @escaping @Sendable (UnlockedVault) throws -> T) async throws -> T {
        try await vault.run(body)
    }

    /// A new token to replace `held` before it is due: fetched from the identity provider, unless
    /// another process (or library user) of the vault fetched one since `held` was issued, which
    /// is then taken from the vault's cache. Either way one request per expiry reaches the IdP:
    /// the cross-process lock is taken first, and the cache read again under it.
    package func renew(_ held: AccessToken, for client: String, scopes: [String], audience: String?, minimumTTL: Duration? = nil) async throws -> Grant {
        try await token(for: client, scopes: scopes, audience: audience, minimumTTL: minimumTTL, refresh: true, cache: .read(held))
    }

    /// Changes whenever another process commits to the vault (`VaultStore.changesByOthers`).
    package func changesByOthers() async throws -> Int64 {
        try await vault.run { try $0.vault.store.changesByOthers() }
    }
}
