import CloakroomCrypto
import CloakroomStore

/// What a client is, apart from its secret.
public struct ClientSettings: Sendable, Equatable {
    /// The `client_id` at the identity provider.
    public var clientID: String
    /// How it authenticates at the token endpoint; `client_secret_basic` unless it says otherwise.
    public var authMethod: AuthMethod
    /// Scopes asked for with every token request; each an RFC 6749 scope token (no spaces).
    public var scopes: [String]
    /// The `audience` form parameter sent with every token request, for IdPs that take one.
    public var audience: String?

    /// Settings for a client known at the IdP as `clientID`. They are checked when the client is
    /// added: a client_id of 1 to 255 characters without control characters, valid scope tokens.
    public init(clientID: String, authMethod: AuthMethod = .clientSecretBasic, scopes: [String] = [], audience: String? = nil) {
        self.clientID = clientID
        self.authMethod = authMethod
        self.scopes = scopes
        self.audience = audience
    }

    /// These settings as the store keeps them, with `rotateEvery` seconds.
    func fields(rotateEvery: Int64?) -> ClientFields {
        ClientFields(clientID: clientID, authMethod: authMethod.rawValue, scopes: scopes.joined(separator: " "), audience: audience,
                     rotateEvery: rotateEvery)
    }

    func validated() throws -> ClientSettings {
        guard (1...255).contains(clientID.utf8.count), !clientID.containsControlCharacters else {
            throw VaultError(.invalidInput, "the client_id must be 1 to 255 characters without control characters.")
        }
        _ = try TokenRequestShape(scopes: scopes, audience: audience).validated()
        return self
    }
}

extension UnlockedVault {
    /// Adds client `ref` with `secret` sealed as its version 1.
    /// - Throws: `VaultError` `.notFound` (realm), `.alreadyExists`, `.invalidInput`.
    @discardableResult
    public func addClient(_ ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret) throws -> Client {
        let settings = try settings.validated()
        try vault.store.write {
            let realm = try vault.realm(named: ref.realm)
            guard try vault.store.clients.named(realm: ref.realm.rawValue, name: ref.name.rawValue) == nil else {
                throw VaultError(.alreadyExists, "a client '\(ref)' exists already; remove it first to store it anew.")
            }
            try insertClient(ref.name, in: realm, settings, secret: secret)
            try record(.clientAdded, realm: ref.realm, client: ref.name,
                       detail: "client_id \(settings.clientID), \(settings.authMethod.rawValue), secret version 1")
        }
        return try vault.client(ref)
    }

    /// Inserts client `name` of `realm` with validated `settings` and `secret` sealed as its
    /// current version 1, inside the caller's transaction. Returns the client's row id.
    /// - Parameter secretSince: when the secret became current (now, unless it comes from elsewhere).
    @discardableResult
    func insertClient(_ name: Name, in realm: Realm, _ settings: ClientSettings, secret: ClientSecret,
                      rotateEvery: Int64? = nil, secretSince: Int64? = nil) throws -> Int64 {
        let now = vault.now
        let rowID = try vault.store.clients.insert(realmRowID: realm.rowID, name: name.rawValue, settings.fields(rotateEvery: rotateEvery), at: now)
        try insertCurrentSecret(secret, version: 1, clientRowID: rowID, endpoint: realm.secretEndpoint, clientID: settings.clientID,
                                since: secretSince ?? now)
        try stampClient(rowID: rowID)
        return rowID
    }

    /// Seals `secret` as the client's current `version`. Inside the caller's transaction; the
    /// client must have no current version left (a unique index enforces it).
    func insertCurrentSecret(_ secret: ClientSecret, version: Int, clientRowID: Int64, endpoint: String, clientID: String, since: Int64) throws {
        let box = seal(secret, for: SecretSlot(clientRowID: clientRowID, version: version, endpoint: endpoint, clientID: clientID))
        try vault.store.clients.insertSecret(clientRowID: clientRowID, version: Int64(version), state: .current, sealed: box,
                                             createdAt: vault.now, stateChangedAt: since)
    }

    /// Removes client `ref` and every version of its secret.
    /// - Throws: `VaultError` `.notFound`; `.conflict` while it is a realm's admin client.
    public func removeClient(_ ref: ClientRef) throws {
        try vault.store.write {
            let client = try vault.client(ref)
            if let realm = try vault.store.realms.realmAdministered(byClientRowID: client.rowID) {
                throw VaultError(.conflict, "\(ref) is the admin client of realm '\(realm)'; the realm needs another first.", client: ref, next: [.updateRealm(Name(trusted: realm), .adminClient)])
            }
            try vault.store.clients.remove(rowID: client.rowID)
            try record(.clientRemoved, realm: ref.realm, client: ref.name, detail: "client_id \(client.clientID)")
        }
    }

    /// The current secret of `ref`, opened.
    /// - Throws: `VaultError` `.notFound`; `.corrupted` when it was altered, moved, or re-pointed,
    ///   or `ref`'s row was changed outside cloak (its name may stand for another client's secret).
    public func currentSecret(of ref: ClientRef) throws -> ClientSecret {
        try requireAuthentic(ref)
        return try openCurrentSecret(of: ref)
    }

    /// The current secret of `ref`, opened, for a caller that has checked `ref`'s row already.
    func openCurrentSecret(of ref: ClientRef) throws -> ClientSecret {
        guard let record = try vault.store.clients.secrets(.current(realm: ref.realm.rawValue, name: ref.name.rawValue)).first else {
            _ = try vault.client(ref)
            throw VaultError(.corrupted, "\(ref) has no current secret; the vault was edited outside cloak. Store its secret again.")
        }
        return try open(record.sealed ?? SealedBox(nonce: [], ciphertext: []), for: SecretSlot(record), of: ref)
    }
}
