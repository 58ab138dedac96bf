import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Reading realms, clients and keyslots: metadata only, no key needed.
extension Vault {
    /// `record` as the library shows it.
    static func realm(_ record: RealmRecord) -> Realm {
        let settings = record.settings
        let discovered = record.discovery.map {
            ProviderMetadata(issuer: $0.issuer, tokenEndpoint: $0.tokenEndpoint, jwksURI: $0.jwksURI,
                             discoveredAt: Date(unixSeconds: $0.discoveredAt))
        }
        return Realm(
            rowID: record.rowID, name: Name(trusted: record.name), issuer: settings.issuer, tokenURL: settings.tokenURL,
            adminURL: settings.adminURL, caFile: settings.caFile,
            adminClient: record.adminClient.map { ClientRef(realm: Name(trusted: $0.realm), name: Name(trusted: $0.name)) },
            allowsInsecureHTTP: settings.allowsInsecureHTTP, clientCount: Int(record.clientCount),
            createdAt: Date(unixSeconds: record.createdAt), updatedAt: Date(unixSeconds: record.updatedAt),
            keepPrevious: .seconds(record.keepPrevious), rotateEvery: record.rotateEvery.map { .seconds($0) }, discovered: discovered)
    }

    /// Every realm, by name.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func realms() throws -> [Realm] {
        try store.realms.all().map(Self.realm)
    }

    /// The realm called `name`.
    /// - Throws: `VaultError.notFound`.
    public func realm(named name: Name) throws -> Realm {
        guard let realm = try store.realms.named(name.rawValue) else {
            throw VaultError(.notFound, "no realm '\(name)' in this vault.", realm: name, next: [.listRealms])
        }
        return Self.realm(realm)
    }

    /// `record` as the library shows it.
    static func client(_ record: ClientRecord) -> Client {
        let fields = record.fields
        return Client(
            rowID: record.rowID, ref: ClientRef(realm: Name(trusted: record.realm), name: Name(trusted: record.name)),
            clientID: fields.clientID, authMethod: AuthMethod(rawValue: fields.authMethod) ?? .clientSecretBasic,
            scopes: fields.scopes.split(separator: " ").map(String.init), audience: fields.audience,
            secretVersion: record.secretVersion.map(Int.init), secretUpdatedAt: record.secretChangedAt.map(Date.init(unixSeconds:)),
            createdAt: Date(unixSeconds: record.createdAt), updatedAt: Date(unixSeconds: record.updatedAt),
            rotateEvery: fields.rotateEvery.map { .seconds($0) })
    }

    /// Every client, or those of one realm, by realm and name.
    /// - Throws: `VaultError.notFound` for an unknown realm (not an empty list).
    public func clients(in realm: Name? = nil) throws -> [Client] {
        if let realm {
            _ = try self.realm(named: realm)  // an unknown realm is an error, not an empty list
            return try store.clients.all(realm: realm.rawValue).map(Self.client)
        }
        return try store.clients.all(realm: nil).map(Self.client)
    }

    /// The client `ref`.
    /// - Throws: `VaultError.notFound`, naming whether the realm or the client is missing.
    public func client(_ ref: ClientRef) throws -> Client {
        guard let found = try store.clients.named(realm: ref.realm.rawValue, name: ref.name.rawValue).map(Self.client) else {
            _ = try realm(named: ref.realm)
            throw VaultError(.notFound, "no client '\(ref)' in this vault.", client: ref, next: [.listClients(realm: ref.realm)])
        }
        return found
    }

    /// Every keyslot, oldest first.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func keyslots() throws -> [Keyslot] {
        try store.keyslots.all().map { record in
            Keyslot(
                id: record.id, kind: Keyslot.Kind(rawValue: record.kind) ?? .keyFile, label: record.label, fingerprint: record.fingerprint,
                argon2: record.opsLimit.map { Argon2Parameters(opsLimit: UInt64($0), memLimit: Int(record.memLimit ?? 0)) },
                createdAt: Date(unixSeconds: record.createdAt))
        }
    }
}
