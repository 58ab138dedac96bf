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

extension Client {
    /// What it is apart from its secret and schedule: what `UnlockedVault.updateClient` takes.
    public var settings: ClientSettings {
        ClientSettings(clientID: clientID, authMethod: authMethod, scopes: scopes, audience: audience)
    }
}

/// A client as it should be after `updateClient`: made from the client as it is, with what
/// should change changed. Every part is a whole value, so "leave it" and "clear it" cannot be
/// confused (an audience of `nil` is no audience).
///
/// ```swift
/// var change = ClientChange(try vault.vault.client(ref))
/// change.settings.scopes.append("orders:write")
/// change.rotateEvery = .seconds(30 * 86_400)
/// ```
public struct ClientChange: Sendable, Equatable {
    /// Its name within its realm.
    public var name: Name
    /// What it is at the identity provider.
    public var settings: ClientSettings
    /// How often `cloak rotate --due` rotates it; `nil`: only when asked.
    public var rotateEvery: Duration?

    /// `client` as it is.
    public init(_ client: Client) {
        name = client.ref.name
        settings = client.settings
        rotateEvery = client.rotateEvery
    }
}

/// What `updateClient` did to a client.
public struct ClientUpdate: Sendable {
    /// The client as it is stored now.
    public var client: Client
    /// Each change in words, as its audit event says it ("client_id orders → orders-svc"); empty
    /// when the client was as asked already. Never a secret.
    public var changes: [String]
    /// Whether the identity provider issued a token for the client as it is stored now
    /// (`TokenBroker.updateClient` with `verify`); that token is in the cache.
    public var verified: Bool = false
}

extension UnlockedVault {
    /// Adds client `ref` with `secret` sealed as its version 1.
    /// Nothing is asked of the IdP: `TokenBroker.addClient` checks the secret first.
    /// - Parameter rotateEvery: how often `cloak rotate --due` rotates it (`nil`: only when asked).
    /// - Throws: `VaultError` `.notFound` (realm), `.alreadyExists`, `.invalidInput`.
    @discardableResult
    public func addClient(_ ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret, rotateEvery: Duration? = nil) throws -> Client {
        try addClient(ref, settings, secret: secret, rotateEvery: rotateEvery, verifiedBy: nil)
    }

    /// `addClient`, noting in its audit event the token request that checked it, if any.
    func addClient(_ ref: ClientRef, _ settings: ClientSettings, secret: ClientSecret, rotateEvery: Duration?,
                   verifiedBy check: String?) throws -> Client {
        let settings = try settings.validated()
        try Self.requireRotationInterval(rotateEvery)
        try vault.store.write {
            let realm = try vault.realm(named: ref.realm)
            try requireNoClient(ref)
            try insertClient(ref.name, in: realm, settings, secret: secret, rotateEvery: rotateEvery?.components.seconds)
            try record(.clientAdded, realm: ref.realm, client: ref.name,
                       detail: "client_id \(settings.clientID), \(settings.authMethod.rawValue), secret version 1"
                           + (rotateEvery.map { ", rotation schedule every \($0.compactText)" } ?? "") + (check.map { "; \($0)" } ?? ""))
        }
        return try vault.client(ref)
    }

    /// - Throws: `VaultError.alreadyExists` when the vault has a client `ref`.
    func requireNoClient(_ ref: ClientRef) throws {
        guard try vault.store.clients.named(realm: ref.realm.rawValue, name: ref.name.rawValue) == nil else {
            throw VaultError(.alreadyExists, "a client '\(ref)' exists already.", client: ref, next: [.updateClient(ref)])
        }
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

    /// Changes client `ref` to `target`, in one transaction, and with `secret` replaces its
    /// current secret. Nothing is asked of the IdP: `TokenBroker.updateClient` checks first.
    ///
    /// - A new secret becomes a new current version and the old one is kept as previous, retired
    ///   after the realm's keep-previous period, as after a rotation.
    /// - A new client_id names another client at the IdP, so the versions kept for the old one
    ///   could never be used (nor rolled back to): they are retired. The current secret, unless
    ///   `secret` replaces it, is sealed again for the new client_id (a secret's seal binds it).
    /// - Cached tokens are dropped when anything a token request sends changes. A new name keeps
    ///   them: tokens, secrets and a realm's admin client belong to the row, not the name.
    /// - Throws: `VaultError` `.notFound`; `.alreadyExists` when the new name is taken;
    ///   `.invalidInput`; `.conflict` while a rotation of `ref` is unfinished; `.corrupted` when
    ///   `ref`'s row was changed outside cloak.
    @discardableResult
    public func updateClient(_ ref: ClientRef, to target: ClientChange, secret: ClientSecret? = nil) throws -> ClientUpdate {
        try updateClient(ref, to: target, secret: secret, verifiedBy: nil)
    }

    /// `updateClient`, noting in its audit event the token request that checked it, if any.
    func updateClient(_ ref: ClientRef, to target: ClientChange, secret: ClientSecret?, verifiedBy check: String?) throws -> ClientUpdate {
        var target = target
        target.settings = try target.settings.validated()
        try Self.requireRotationInterval(target.rotateEvery)
        return try vault.store.write {
            let client = try vault.client(ref)
            let changes = try amendingClient(rowID: client.rowID) {
                if try openRotation(of: ref) != nil {
                    throw VaultError(.conflict, "\(ref) has an unfinished rotation, to be settled before it is changed.", client: ref,
                                     next: [.resumeRotation(ref)])
                }
                return try change(client, to: target, secret: secret)
            }
            let renamed = ClientRef(realm: ref.realm, name: target.name)
            if !changes.isEmpty {
                try record(.clientUpdated, realm: renamed.realm, client: renamed.name,
                           detail: (changes + (check.map { [$0] } ?? [])).joined(separator: "; "))
            }
            return ClientUpdate(client: try vault.client(renamed), changes: changes)
        }
    }

    /// The changes themselves, inside `updateClient`'s transaction; returns them in words.
    private func change(_ client: Client, to target: ClientChange, secret: ClientSecret?) throws -> [String] {
        let ref = client.ref, row = client.rowID, old = client.settings, settings = target.settings, now = vault.now
        var changes: [String] = []
        if target.name != ref.name {
            try requireNoClient(ClientRef(realm: ref.realm, name: target.name))
            try vault.store.clients.rename(rowID: row, to: target.name.rawValue, at: now)
            changes.append("renamed from \(ref)")
        }
        let newClientID = settings.clientID != old.clientID
        // Read before the row changes: the current secret's seal binds the old client_id.
        let current = try vault.store.clients.secrets(.version(clientRowID: row, state: .current, version: Int64(client.secretVersion ?? 0))).first
        let currentSecret = try current.map { try open($0.sealed ?? SealedBox(nonce: [], ciphertext: []), for: SecretSlot($0), of: ref) }
        if settings != old || target.rotateEvery != client.rotateEvery {
            try vault.store.clients.update(rowID: row, settings.fields(rotateEvery: target.rotateEvery?.components.seconds),
                                           forgetIdPUUID: newClientID, at: now)
            changes += Self.differences(from: old, to: settings)
            if target.rotateEvery != client.rotateEvery {
                changes.append("rotation schedule \(Self.schedule(client.rotateEvery)) → \(Self.schedule(target.rotateEvery))")
            }
        }
        let replacesSecret = secret.map { given in currentSecret.map { !$0.matches(given) } ?? true } ?? false
        if newClientID {
            let retired = try vault.store.clients.moveSecrets(clientRowID: row, from: .previous, version: nil, to: .retired, at: now)
            if retired > 0 { changes.append("\(retired) previous version\(retired == 1 ? "" : "s") of the old client_id retired") }
            if let current, let currentSecret, !replacesSecret {
                var slot = SecretSlot(current)
                slot.clientID = settings.clientID
                try vault.store.clients.reseal(rowID: current.rowID, seal(currentSecret, for: slot))
            }
        }
        if let secret, replacesSecret {
            let next = Int(try vault.store.clients.highestVersion(clientRowID: row)) + 1
            // A current secret of the old client_id is no previous version of this one.
            try vault.store.clients.moveSecrets(clientRowID: row, from: .current, version: nil, to: newClientID ? .retired : .previous, at: now)
            try insertCurrentSecret(secret, version: next, clientRowID: row, endpoint: try vault.realm(named: ref.realm).secretEndpoint,
                                    clientID: settings.clientID, since: now)
            try retireExpiredPrevious(clientRowID: row, now: now)
            changes.append("secret version \(next) current" + (client.secretVersion.map { newClientID ? ", version \($0) retired" : ", version \($0) kept as previous" } ?? ""))
        }
        if settings != old || replacesSecret {
            try vault.store.tokenCache.remove(clientRowID: row)  // asked for with what is no longer sent
        }
        return changes
    }

    /// What changed between two settings, in words.
    static func differences(from old: ClientSettings, to new: ClientSettings) -> [String] {
        func words(_ scopes: [String]) -> String { scopes.isEmpty ? "none" : scopes.joined(separator: " ") }
        var changes: [String] = []
        if new.clientID != old.clientID { changes.append("client_id \(old.clientID) → \(new.clientID)") }
        if new.authMethod != old.authMethod { changes.append("auth \(old.authMethod.rawValue) → \(new.authMethod.rawValue)") }
        if new.scopes != old.scopes { changes.append("scopes \(words(old.scopes)) → \(words(new.scopes))") }
        if new.audience != old.audience { changes.append("audience \(old.audience ?? "none") → \(new.audience ?? "none")") }
        return changes
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
