extension TokenClient {
    /// Asks `issuer` for its discovery document and stores the answer in `vault`, sealed, for the
    /// next requests: what the broker and the rotation settler do when a realm's token endpoint
    /// is not known yet.
    /// - Throws: `TokenError` as `discover(issuer:…)`; `VaultError` when the realm's issuer
    ///   changed meanwhile (`.conflict`) or the vault cannot be written.
    func discover(_ issuer: String, realm: Name, caFile: String?, allowsInsecureHTTP: Bool, storingIn vault: VaultAccess) async throws -> ProviderMetadata {
        let metadata = try await discover(issuer: issuer, realm: realm, caFile: caFile, allowsInsecureHTTP: allowsInsecureHTTP)
        try await vault.run { _ = try $0.storeDiscovery(metadata, for: realm) }
        return metadata
    }
}
