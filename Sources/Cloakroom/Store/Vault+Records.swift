import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Reading realms, clients and keyslots: metadata only, no key needed.
extension Vault {
    private static let realmColumns = """
        SELECT r.id, r.name, r.issuer, r.token_url, r.admin_url, r.ca_file, ar.name, ac.name, r.allow_http,
               (SELECT count(*) FROM clients c WHERE c.realm_id = r.id), r.created_at, r.updated_at,
               d.issuer, d.token_endpoint, d.jwks_uri, d.discovered_at, r.keep_previous
        FROM realms r
        LEFT JOIN realm_discovery d ON d.realm_id = r.id
        LEFT JOIN clients ac ON ac.id = r.admin_client_id
        LEFT JOIN realms ar ON ar.id = ac.realm_id
        """

    private static func realm(_ row: Row) -> Realm {
        var adminClient: ClientRef?
        if let realm = row.optionalText(6), let name = row.optionalText(7) {
            adminClient = ClientRef(realm: Name(trusted: realm), name: Name(trusted: name))
        }
        var discovered: ProviderMetadata?
        if let issuer = row.optionalText(12), let tokenEndpoint = row.optionalText(13) {
            discovered = ProviderMetadata(issuer: issuer, tokenEndpoint: tokenEndpoint, jwksURI: row.optionalText(14),
                                          discoveredAt: Date(unixSeconds: row.integer(15)))
        }
        return Realm(
            rowID: row.integer(0), name: Name(trusted: row.text(1)), issuer: row.optionalText(2),
            tokenURL: row.optionalText(3), adminURL: row.optionalText(4), caFile: row.optionalText(5),
            adminClient: adminClient, allowsInsecureHTTP: row.integer(8) != 0, clientCount: Int(row.integer(9)),
            createdAt: Date(unixSeconds: row.integer(10)), updatedAt: Date(unixSeconds: row.integer(11)),
            keepPrevious: TimeInterval(row.integer(16)), discovered: discovered)
    }

    /// Every realm, by name.
    public func realms() throws -> [Realm] {
        try database.rows(Self.realmColumns + " ORDER BY r.name", read: Self.realm)
    }

    /// The realm called `name`.
    /// - Throws: `VaultError.notFound`.
    public func realm(named name: Name) throws -> Realm {
        guard let realm = try database.row(Self.realmColumns + " WHERE r.name = ?", .text(name.rawValue), read: Self.realm) else {
            throw VaultError(.notFound, "no realm '\(name)' in this vault; `cloak realm list` shows the realms.")
        }
        return realm
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
