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
            keepPrevious: TimeInterval(record.keepPrevious), discovered: discovered)
    }

    /// Every realm, by name.
    public func realms() throws -> [Realm] {
        try store.realms.all().map(Self.realm)
    }

    /// The realm called `name`.
    /// - Throws: `VaultError.notFound`.
    public func realm(named name: Name) throws -> Realm {
        guard let realm = try store.realms.named(name.rawValue) else {
            throw VaultError(.notFound, "no realm '\(name)' in this vault; `cloak realm list` shows the realms.")
        }
        return Self.realm(realm)
    }

    private static let clientColumns = """
        SELECT c.id, r.name, c.name, c.client_id, c.auth_method, c.scopes, c.audience,
               s.version, s.state_changed_at, c.created_at, c.updated_at, c.rotate_every
        FROM clients c
        JOIN realms r ON r.id = c.realm_id
        LEFT JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
        """

    private static func client(_ row: Row) -> Client {
        Client(
            rowID: row.integer(0),
            ref: ClientRef(realm: Name(trusted: row.text(1)), name: Name(trusted: row.text(2))),
            clientID: row.text(3), authMethod: AuthMethod(rawValue: row.text(4)) ?? .clientSecretBasic,
            scopes: row.text(5).split(separator: " ").map(String.init), audience: row.optionalText(6),
            secretVersion: row.isNull(7) ? nil : Int(row.integer(7)),
            secretUpdatedAt: row.isNull(8) ? nil : Date(unixSeconds: row.integer(8)),
            createdAt: Date(unixSeconds: row.integer(9)), updatedAt: Date(unixSeconds: row.integer(10)),
            rotateEvery: row.isNull(11) ? nil : TimeInterval(row.integer(11)))
    }

    /// Every client, or those of one realm, by realm and name.
    public func clients(in realm: Name? = nil) throws -> [Client] {
        if let realm {
            _ = try self.realm(named: realm)  // an unknown realm is an error, not an empty list
            return try database.rows(Self.clientColumns + " WHERE r.name = ? ORDER BY c.name", .text(realm.rawValue), read: Self.client)
        }
        return try database.rows(Self.clientColumns + " ORDER BY r.name, c.name", read: Self.client)
    }

    /// The client `ref`.
    /// - Throws: `VaultError.notFound`, naming whether the realm or the client is missing.
    public func client(_ ref: ClientRef) throws -> Client {
        let found = try database.row(
            Self.clientColumns + " WHERE r.name = ? AND c.name = ?", .text(ref.realm.rawValue), .text(ref.name.rawValue),
            read: Self.client)
        guard let found else {
            _ = try realm(named: ref.realm)
            throw VaultError(.notFound, "no client '\(ref)' in this vault; `cloak client list --realm \(ref.realm)` shows its clients.")
        }
        return found
    }

    /// Every keyslot, oldest first.
    public func keyslots() throws -> [Keyslot] {
        try store.keyslots.all().map { record in
            Keyslot(
                id: record.id, kind: Keyslot.Kind(rawValue: record.kind) ?? .keyFile, label: record.label, fingerprint: record.fingerprint,
                argon2: record.opsLimit.map { Argon2Parameters(opsLimit: UInt64($0), memLimit: Int(record.memLimit ?? 0)) },
                createdAt: Date(unixSeconds: record.createdAt))
        }
    }
}
