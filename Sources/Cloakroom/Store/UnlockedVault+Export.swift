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
    public func recordExport(of bundle: CredentialBundle, to path: String) throws {
        try database.writeTransaction {
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
        try database.readTransactionUnlessWriting {
            let realms = try names.map { try Set($0).sorted().map { try vault.realm(named: $0) } } ?? vault.realms()
            guard !realms.isEmpty else { return CredentialBundle(exportedAt: vault.clock(), realms: [], clients: []) }
            try requireAuthenticClients(inRealms: realms.map(\.rowID))
            let sql = """
                SELECT r.name, c.name, c.id, c.client_id, c.auth_method, c.scopes, c.audience, c.rotate_every,
                       s.version, s.state_changed_at, coalesce(r.token_url, r.issuer), s.nonce, s.sealed
                FROM clients c JOIN realms r ON r.id = c.realm_id
                LEFT JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
                WHERE c.realm_id IN (\(realms.map { _ in "?" }.joined(separator: ", ")))
                ORDER BY r.name, c.name
                """
            struct Stored {
                var ref: ClientRef, settings: ClientSettings, rotateEvery: Int64?, secretSince: Date
                var sealed: (box: SealedBox, slot: SecretSlot, ref: ClientRef)
            }
            let rows = try database.rows(sql, realms.map { SQLValue.integer($0.rowID) }) { row -> Stored in
                let ref = ClientRef(realm: Name(trusted: row.text(0)), name: Name(trusted: row.text(1)))
                guard !row.isNull(8), let nonce = row.optionalBlob(11), let sealed = row.optionalBlob(12) else {
                    throw VaultError(.corrupted, "\(ref) has no current secret; the vault was edited outside cloak. Store its secret again, or export the other realms. Nothing was written.")
                }
                let slot = SecretSlot(clientRowID: row.integer(2), version: Int(row.integer(8)), endpoint: row.text(10), clientID: row.text(3))
                return Stored(
                    ref: ref,
                    settings: ClientSettings(clientID: row.text(3), authMethod: AuthMethod(rawValue: row.text(4)) ?? .clientSecretBasic,
                                             scopes: row.text(5).split(separator: " ").map(String.init), audience: row.optionalText(6)),
                    rotateEvery: row.isNull(7) ? nil : row.integer(7), secretSince: Date(unixSeconds: row.integer(9)),
                    sealed: (SealedBox(nonce: nonce, ciphertext: sealed), slot, ref))
            }
            let secrets = try open(rows.map(\.sealed))
            let clients = zip(rows, secrets).map { row, secret in
                BundledClient(ref: row.ref, settings: row.settings, rotateEvery: row.rotateEvery, secretSince: row.secretSince, secret: secret)
            }
            return CredentialBundle(
                exportedAt: vault.clock(),
                realms: realms.map { BundledRealm(name: $0.name, settings: RealmSettings($0), keepPrevious: Int64($0.keepPrevious)) },
                clients: clients)
        }
    }
}
