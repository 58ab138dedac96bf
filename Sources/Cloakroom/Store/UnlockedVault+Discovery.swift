import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

extension UnlockedVault {
    /// Where a realm's discovery result belongs. Sealed (an empty plaintext, so only the tag is
    /// stored) under the client-secrets subkey: the result decides where those secrets are sent,
    /// so it is authenticated like them, and someone who can write the vault file cannot point a
    /// realm's token endpoint elsewhere.
    func context(forDiscoveryOf realmRowID: Int64, _ metadata: ProviderMetadata) -> AssociatedData {
        var context = AssociatedData("cloakroom realm-discovery v1")
        context.append(bytes: vault.vaultID)
        context.append(realmRowID)
        context.append(metadata.issuer)
        context.append(metadata.tokenEndpoint)
        context.append(metadata.jwksURI == nil ? 0 : 1)
        context.append(metadata.jwksURI ?? "")
        context.append(metadata.discoveredAt.unixSeconds)
        return context
    }

    /// What realm `realm`'s issuer said when last asked, if it is still the realm's issuer and
    /// the row opens with the vault key; `nil` otherwise (then the issuer is asked again).
    func discovery(of realm: Realm) throws -> ProviderMetadata? {
        guard let issuer = realm.issuer else { return nil }
        guard let record = try vault.store.realms.discovery(realmRowID: realm.rowID), record.issuer == issuer else { return nil }
        let metadata = ProviderMetadata(issuer: record.issuer, tokenEndpoint: record.tokenEndpoint, jwksURI: record.jwksURI,
                                        discoveredAt: Date(unixSeconds: record.discoveredAt))
        guard secretsKey.open(record.seal, authenticating: context(forDiscoveryOf: realm.rowID, metadata)) != nil else { return nil }
        return metadata
    }

    /// Stores what realm `name`'s issuer said. Runs in its own transaction.
    /// - Throws: `VaultError.conflict` when the realm's issuer is no longer `metadata.issuer`.
    @discardableResult
    public func storeDiscovery(_ metadata: ProviderMetadata, for name: Name) throws -> Realm {
        try vault.store.write {
            try storeDiscovery(metadata, in: try vault.realm(named: name))
        }
        return try vault.realm(named: name)
    }

    /// Inside the caller's transaction.
    func storeDiscovery(_ metadata: ProviderMetadata, in realm: Realm) throws {
        guard realm.issuer == metadata.issuer else {
            throw VaultError(.conflict, "realm \(realm.name)'s issuer changed while it was being discovered; try again.")
        }
        var stored = metadata
        stored.discoveredAt = Date(unixSeconds: metadata.discoveredAt.unixSeconds)  // the row keeps seconds
        let box = secretsKey.seal(SecureBytes(copying: []), authenticating: context(forDiscoveryOf: realm.rowID, stored))
        try vault.store.realms.storeDiscovery(DiscoveryRecord(
            realmRowID: realm.rowID, issuer: stored.issuer, tokenEndpoint: stored.tokenEndpoint, jwksURI: stored.jwksURI,
            discoveredAt: stored.discoveredAt.unixSeconds, seal: box))
    }
}

extension RealmSettings {
    /// Asks this realm's issuer for its discovery document, once, before the realm is stored: so
    /// that `realm add --issuer` can refuse an issuer whose document is not its own.
    /// - Throws: `VaultError.invalidInput` for settings that are not valid or have no issuer;
    ///   `TokenError` as `TokenClient.discover` (`.unavailable` when the issuer cannot be reached).
    public func discoverProvider(for realm: Name, deadline: Duration = .seconds(10)) async throws -> ProviderMetadata {
        let settings = try validated()
        guard let issuer = settings.issuer else {
            throw VaultError(.invalidInput, "realm \(realm) has no issuer to discover; it was given a token URL.")
        }
        var client = TokenClient()
        client.deadline = deadline
        return try await client.discover(issuer: issuer, realm: realm, caFile: settings.caFile,
                                         allowsInsecureHTTP: settings.allowsInsecureHTTP, retrying: false)
    }
}
