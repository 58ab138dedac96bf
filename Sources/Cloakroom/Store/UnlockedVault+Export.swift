import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

extension UnlockedVault {
    /// Records that `bundle` was written to `path`: secrets left the vault, sealed under another
    /// key. One event per client, and one for the file.
    /// - Throws: `VaultError` (`.busy`, `.io`, `.permissions`) when the events cannot be written.
    public func recordExport(of bundle: CredentialBundle, to path: String) throws {
        try vault.store.write {
            try record(.exported, detail: "bundle \(path): \(bundle.clients.count) client(s) in \(bundle.realms.count) realm(s)")
            for client in bundle.clients {
                try record(.exported, realm: client.ref.realm, client: client.ref.name, detail: "current secret sealed into \(path)")
            }
        }
    }

    /// The realms `names` (every realm when `nil`) and all their clients with their current
    /// secrets, opened: what `cloak export` seals into a bundle. Read in one snapshot.
    /// - Throws: `VaultError` `.notFound` (a realm), `.corrupted` (a secret that does not open).
    public func bundle(of names: [Name]? = nil) throws -> CredentialBundle {
        try vault.store.read {
            let realms = try names.map { try Set($0).sorted().map { try vault.realm(named: $0) } } ?? vault.realms()
            guard !realms.isEmpty else { return CredentialBundle(exportedAt: vault.clock(), realms: [], clients: []) }
            try requireAuthenticClients(inRealms: realms.map(\.rowID))
            struct Stored {
                var ref: ClientRef, settings: ClientSettings, rotateEvery: Int64?, secretSince: Date
                var sealed: (box: SealedBox, slot: SecretSlot, ref: ClientRef)
            }
            let current = try vault.store.clients.secrets(.currentInRealms(realms.map(\.rowID)))
            let byRow = Dictionary(current.map { ($0.clientRowID, $0) }, uniquingKeysWith: { first, _ in first })
            // `realms` is sorted by name, and each realm's clients come by name: the bundle's order.
            let stored = try realms.flatMap { try vault.store.clients.all(realm: $0.name.rawValue) }
            let rows = try stored.map { record -> Stored in
                let client = Vault.client(record)
                guard let secret = byRow[client.rowID], let box = secret.sealed else {
                    throw VaultError(.corrupted, "\(client.ref) has no current secret; the vault was edited outside cloak. Store its secret again, or export the other realms. Nothing was written.")
                }
                return Stored(
                    ref: client.ref,
                    settings: ClientSettings(clientID: client.clientID, authMethod: client.authMethod, scopes: client.scopes, audience: client.audience),
                    rotateEvery: record.fields.rotateEvery, secretSince: Date(unixSeconds: secret.stateChangedAt),
                    sealed: (box, SecretSlot(secret), client.ref))
            }
            let secrets = try open(rows.map(\.sealed))
            let clients = zip(rows, secrets).map { row, secret in
                BundledClient(ref: row.ref, settings: row.settings, rotateEvery: row.rotateEvery, secretSince: row.secretSince, secret: secret)
            }
            return CredentialBundle(
                exportedAt: vault.clock(),
                realms: realms.map { BundledRealm(name: $0.name, settings: RealmSettings($0), keepPrevious: $0.keepPrevious.components.seconds) },
                clients: clients)
        }
    }
}
