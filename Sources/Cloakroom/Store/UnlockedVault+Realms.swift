import CloakroomCrypto
import CloakroomStore

/// The settings of a realm that a user chooses.
public struct RealmSettings: Sendable, Equatable {
    /// The OIDC issuer (Keycloak: `https://HOST/realms/NAME`): the token endpoint and JWKS come
    /// from its discovery document, and secrets are sealed for it. One of `issuer` and `tokenURL`
    /// is needed.
    public var issuer: String?
    /// The token endpoint, given directly (Keycloak:
    /// `https://HOST/realms/NAME/protocol/openid-connect/token`). When given, secrets are sealed for it.
    public var tokenURL: String?
    /// Left `nil`, it is derived from a Keycloak issuer or token URL (`…/admin/realms/NAME`).
    public var adminURL: String?
    /// An absolute path to a PEM file of CAs: then the only trust roots for this realm's endpoints.
    public var caFile: String?
    /// A client, stored in this vault, whose service account may manage clients through the
    /// admin API (rotation, realm sync).
    public var adminClient: ClientRef?
    /// Allow plain `http` to hosts other than loopback (an explicit opt-in; `http` to loopback
    /// is always allowed).
    public var allowsInsecureHTTP: Bool

    /// Settings as given, with an issuer or a token URL (or both); they are checked when the realm
    /// is added or updated.
    public init(issuer: String? = nil, tokenURL: String? = nil, adminURL: String? = nil, caFile: String? = nil,
                adminClient: ClientRef? = nil, allowsInsecureHTTP: Bool = false) {
        self.issuer = issuer
        self.tokenURL = tokenURL
        self.adminURL = adminURL
        self.caFile = caFile
        self.adminClient = adminClient
        self.allowsInsecureHTTP = allowsInsecureHTTP
    }

    /// The settings `realm` has now: the starting point of a change.
    public init(_ realm: Realm) {
        self.init(issuer: realm.issuer, tokenURL: realm.tokenURL, adminURL: realm.adminURL, caFile: realm.caFile,
                  adminClient: realm.adminClient, allowsInsecureHTTP: realm.allowsInsecureHTTP)
    }

    /// The names of the settings that differ from `old`, for the audit log (values are not
    /// secret, but the names say enough and keep the event short).
    func changes(from old: RealmSettings) -> [String] {
        var names: [String] = []
        if issuer != old.issuer { names.append("issuer") }
        if tokenURL != old.tokenURL { names.append("token URL" + (tokenURL.map { " to \($0)" } ?? "")) }
        if adminURL != old.adminURL { names.append("admin URL") }
        if caFile != old.caFile { names.append("CA file") }
        if adminClient != old.adminClient { names.append("admin client" + (adminClient.map { " to \($0)" } ?? "")) }
        if allowsInsecureHTTP != old.allowsInsecureHTTP { names.append(allowsInsecureHTTP ? "insecure http allowed" : "insecure http refused") }
        return names
    }

    /// Checked and completed settings, as stored.
    func validated() throws -> RealmSettings {
        guard issuer != nil || tokenURL != nil else {
            throw VaultError(.invalidInput, "a realm needs an issuer URL or a token URL.")
        }
        var out = self
        out.issuer = try issuer.map { try EndpointURL.validate($0, as: "the issuer", allowHTTP: allowsInsecureHTTP) }
        out.tokenURL = try tokenURL.map { try EndpointURL.validate($0, as: "the token URL", allowHTTP: allowsInsecureHTTP) }
        out.adminURL = try (adminURL ?? (issuer ?? tokenURL).flatMap(EndpointURL.keycloakAdminURL))
            .map { try EndpointURL.validate($0, as: "the admin URL", allowHTTP: allowsInsecureHTTP) }
        if let caFile {
            guard caFile.hasPrefix("/") else {
                throw VaultError(.invalidInput, "a realm's CA file is named by an absolute path; '\(caFile)' is relative.")
            }
            guard FileSystem.status(of: caFile)?.isRegularFile == true else {
                throw VaultError(.notFound, "the CA file \(caFile) does not exist or is not a file.")
            }
        }
        return out
    }
}

extension UnlockedVault {
    /// Adds realm `name`, with what its issuer's discovery document said if it was asked
    /// (`RealmSettings.discoverProvider(for:)`).
    /// - Throws: `VaultError` `.alreadyExists`, `.invalidInput` (URLs), `.notFound` (admin client, CA file).
    @discardableResult
    public func addRealm(_ name: Name, _ settings: RealmSettings, discovered: ProviderMetadata? = nil) throws -> Realm {
        let settings = try settings.validated()
        try vault.store.write {
            guard try vault.store.realms.named(name.rawValue) == nil else {
                throw VaultError(.alreadyExists, "a realm named '\(name)' exists already.", realm: name, next: [.updateRealm(name)])
            }
            try insertRealm(name, settings)
            try record(.realmAdded, realm: name, detail: settings.tokenURL.map { "token URL \($0)" } ?? "issuer \(settings.issuer ?? "")")
            if let discovered { try storeDiscovery(discovered, in: try vault.realm(named: name)) }
        }
        return try vault.realm(named: name)
    }

    /// Inserts realm `name` with validated `settings`, inside the caller's transaction.
    /// - Parameter keepPrevious: seconds; the schema's default (7 days) when `nil`.
    func insertRealm(_ name: Name, _ settings: RealmSettings, keepPrevious: Int64? = nil) throws {
        let rowID = try vault.store.realms.insert(name: name.rawValue, try record(of: settings), keepPrevious: keepPrevious, at: vault.now)
        try stampTrust(realmRowID: rowID)
    }

    // MARK: Trust settings

    /// What the realm's trust tag covers: every setting that decides where a secret or an admin
    /// token goes and which certificate is believed there.
    private func trustContext(of realm: RealmRecord) -> AssociatedData {
        let settings = realm.settings
        var context = AssociatedData("cloakroom realm-trust v1")
        context.append(bytes: vault.vaultID)
        context.append(realm.rowID)
        context.append(realm.name)
        for value in [settings.issuer, settings.tokenURL, settings.adminURL, settings.caFile] { context.append(value ?? "\u{0}null") }
        context.append(settings.adminClientRowID ?? -1)
        context.append(Int64(settings.allowsInsecureHTTP ? 1 : 0))
        return context
    }

    /// Writes the realm's trust tag for what its row holds now. Inside the caller's transaction,
    /// after every change cloak makes to those settings. `using` another vault's key: for rekey.
    func stampTrust(realmRowID: Int64, using target: UnlockedVault? = nil) throws {
        guard let realm = try vault.store.realms.row(realmRowID) else { return }
        try vault.store.realms.setTrustTag((target ?? self).trustKey.tag(trustContext(of: realm)), rowID: realmRowID)
    }

    /// - Throws: `VaultError.corrupted` when realm `realm`'s URLs, CA file, http policy or admin
    ///   client were changed outside cloak: nothing is sent for it until they are set again.
    func requireTrusted(_ realm: Realm) throws {
        guard let stored = try vault.store.realms.row(realm.rowID), let tag = stored.trustTag,
              trustKey.verify(tag, for: trustContext(of: stored)) else {
            throw VaultError(.corrupted, "the settings of realm \(realm.name) (admin URL, CA file, http policy or admin client) were changed outside cloak, so nothing is sent for it: a changed CA file or URL could hand its secrets to someone else. Check them, then set them again: that re-authenticates them.",
                             realm: realm.name, next: [.showRealm(realm.name), .updateRealm(realm.name)])
        }
    }

    /// Changes realm `name` with `change`. When the URL its secrets are sealed for changes, every
    /// secret of the realm is re-sealed for the new URL in the same transaction: the only way a
    /// secret follows a URL change.
    ///
    /// A change of issuer, token URL, CA file or http policy forgets what the issuer's discovery
    /// document said (it was fetched under the old settings); `discovered`, when given, is stored
    /// instead.
    /// - Throws: `VaultError` `.notFound`, `.invalidInput`, `.corrupted` (a secret that no longer opens).
    @discardableResult
    public func updateRealm(_ name: Name, discovered: ProviderMetadata? = nil, _ change: (inout RealmSettings) throws -> Void) throws -> Realm {
        try vault.store.write {
            let realm = try vault.realm(named: name)
            var settings = RealmSettings(realm)
            try change(&settings)
            settings = try settings.validated()
            try vault.store.realms.update(rowID: realm.rowID, try record(of: settings), at: vault.now)
            try stampTrust(realmRowID: realm.rowID)
            let newEndpoint = settings.tokenURL ?? settings.issuer ?? ""
            if newEndpoint != realm.secretEndpoint {
                // The rows already hold the new URL; open each secret with the old one.
                try resealSecrets(.sealedInRealm(realm.rowID), opening: realm.secretEndpoint) {
                    var slot = $0
                    slot.endpoint = newEndpoint
                    return slot
                }
                // Tokens came from the old endpoint; their seals bind it, so drop rather than keep dead rows.
                try vault.store.tokenCache.remove(realmRowID: realm.rowID)
            }
            let changed = settings.changes(from: RealmSettings(realm))
            try record(.realmUpdated, realm: name, detail: changed.isEmpty ? "nothing changed" : "changed " + changed.joined(separator: ", "))
            let before = RealmSettings(realm)
            if settings.issuer != before.issuer || settings.tokenURL != before.tokenURL || settings.caFile != before.caFile
                || settings.allowsInsecureHTTP != before.allowsInsecureHTTP {
                try vault.store.realms.forgetDiscovery(realmRowID: realm.rowID)
            }
            if let discovered { try storeDiscovery(discovered, in: try vault.realm(named: name)) }
        }
        return try vault.realm(named: name)
    }

    /// Removes realm `name`. A realm with clients is removed only with `force`, and then its
    /// clients and all their sealed secrets go with it.
    /// - Returns: how many clients were removed.
    /// - Throws: `VaultError` `.notFound`, `.conflict` (clients and no `force`).
    @discardableResult
    public func removeRealm(_ name: Name, force: Bool) throws -> Int {
        try vault.store.write {
            let realm = try vault.realm(named: name)
            guard realm.clientCount == 0 || force else {
                throw VaultError(.conflict, "realm '\(name)' still has \(realm.clientCount) client(s); remove them first.", realm: name,
                                 next: [.force(effect: "remove them and their secrets too")])
            }
            try vault.store.realms.remove(rowID: realm.rowID)
            try record(.realmRemoved, realm: name, detail: realm.clientCount == 0 ? "" : "with its \(realm.clientCount) client(s)")
            return realm.clientCount
        }
    }

    /// `settings` as the store keeps them: the admin client by row.
    func record(of settings: RealmSettings) throws -> RealmSettingsRecord {
        RealmSettingsRecord(issuer: settings.issuer, tokenURL: settings.tokenURL, adminURL: settings.adminURL, caFile: settings.caFile,
                            adminClientRowID: try settings.adminClient.map { try vault.client($0).rowID },
                            allowsInsecureHTTP: settings.allowsInsecureHTTP)
    }
}
