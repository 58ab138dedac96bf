import CloakroomCrypto
import CloakroomStore
/// What importing `.env` files will do, worked out before anything is written: which realms
/// and clients are added, which are in the vault already, and where each secret is checked.
///
/// ```swift
/// let plan = try vault.planImport([try DotEnv.load(from: ".env")], DotEnvImportPlan.Options())
/// guard await plan.verify().isEmpty else { return }   // a token request per new credential
/// try vault.apply(plan, verified: true)               // one transaction: all or nothing
/// ```
public struct DotEnvImportPlan: Sendable {
    /// How names are chosen and new realms are set up.
    public struct Options: Sendable {
        /// The realm every credential goes to; `nil`: the Keycloak realm of its token URL.
        public var realm: Name?
        /// The name of the one credential; `nil`: its prefix (`ORDERS_` → `orders`), else its client_id.
        public var name: Name?
        /// How the new clients authenticate (`client_secret_basic` by default), and how they are checked.
        public var authMethod: AuthMethod
        /// For realms the import creates.
        public var caFile: String?
        /// For realms the import creates: plain `http` to hosts other than loopback is allowed.
        public var allowsInsecureHTTP: Bool
        /// Whether each new credential will be checked with a token request (so its token URL must be known).
        public var verify: Bool
        /// Only credentials with these prefixes (upper case, as `DotEnvCredential.prefix`); `nil`: all.
        /// For files that also hold other services' OAuth pairs (`GITHUB_CLIENT_ID`…).
        public var onlyPrefixes: Set<String>?
        /// Credentials with these prefixes are left alone (and left in the file).
        public var skippedPrefixes: Set<String> = []

        /// Options with every default: each credential's realm from its token URL, checked with a
        /// token request, `client_secret_basic`.
        public init(realm: Name? = nil, name: Name? = nil, authMethod: AuthMethod = .clientSecretBasic, caFile: String? = nil,
                    allowsInsecureHTTP: Bool = false, verify: Bool = true) {
            self.realm = realm
            self.name = name
            self.authMethod = authMethod
            self.caFile = caFile
            self.allowsInsecureHTTP = allowsInsecureHTTP
            self.verify = verify
        }
    }

    /// What the import does with one client.
    public enum Action: String, Sendable {
        /// A new client (and maybe realm).
        case add
        /// The vault holds this client_id with this very secret already.
        case alreadyPresent = "already_present"
    }

    /// One client of the vault, from one or more files that hold the same credential.
    public struct Item: Sendable {
        /// Its name in the vault.
        public var ref: ClientRef
        /// Whether it is added or is there already.
        public var action: Action
        /// The first is the one stored; the others are the same credential in other files.
        public var credentials: [DotEnvCredential]
        /// Its realm is one of `newRealms`.
        public var createsRealm: Bool
        var verification: TokenRequest?

        /// The credential that is stored: the first of `credentials`.
        public var credential: DotEnvCredential { credentials[0] }
    }

    /// A realm the import creates, from a credential's token URL.
    public struct NewRealm: Sendable {
        /// Its name: the Keycloak realm of the token URL, or `Options.realm`.
        public var name: Name
        /// Its settings: the token URL, and the options' CA file and http policy.
        public var settings: RealmSettings
    }

    /// A credential the identity provider did not accept (or could not be asked about).
    public struct Rejection: Sendable {
        /// The credential refused.
        public var item: Item
        /// Why: the IdP's refusal (`.rejected`), or why it could not be asked (`.unavailable`, …).
        public var error: TokenError
    }

    /// Every client the files hold, in the order they were found.
    public internal(set) var items: [Item] = []
    /// Realms to be created for them.
    public internal(set) var newRealms: [NewRealm] = []
    /// What the user should know: client_ids left in the files because no secret is beside them.
    public internal(set) var notes: [DotEnv.Note] = []
    /// The files read, with the lines each credential came from (what to delete afterwards).
    public let files: [DotEnv]
    let authMethod: AuthMethod

    /// Asks the token endpoint for a token with each new credential, one after the other, and
    /// returns those that failed. Tokens are thrown away; cached nowhere.
    /// - Parameter deadline: for each request, retries included.
    public func verify(deadline: Duration = .seconds(10)) async -> [Rejection] {
        var client = TokenClient()
        client.deadline = deadline
        var rejections: [Rejection] = []
        for item in items {
            guard let request = item.verification else { continue }
            do { _ = try await client.token(for: request) } catch { rejections.append(Rejection(item: item, error: error)) }
        }
        return rejections
    }

    /// The assignments the vault makes redundant once this plan is applied, per file in line
    /// order: every name a stored credential was read from, and earlier assignments of those
    /// names that the file overrides.
    public var redundantEntries: [(file: String, entries: [DotEnv.Entry])] {
        files.compactMap { env in
            let used = items.flatMap(\.credentials).filter { $0.file == env.file }.flatMap(\.entries)
            var lines = Set<Int>()
            let entries = (used + used.flatMap(env.overridden(by:)))
                .filter { lines.insert($0.line).inserted }
                .sorted { $0.line < $1.line }
            return entries.isEmpty ? nil : (env.file, entries)
        }
    }
}

extension UnlockedVault {
    /// Works out what importing `files` does, reading the vault but writing nothing.
    /// - Throws: `DotEnvError` (a file that says too little or contradicts itself), `VaultError`
    ///   `.invalidInput` (a name or URL), `.conflict` (a realm with another token URL, a client
    ///   stored with another secret or client_id).
    public func planImport(_ files: [DotEnv], _ options: DotEnvImportPlan.Options) throws -> DotEnvImportPlan {
        var plan = DotEnvImportPlan(files: files, authMethod: options.authMethod)
        let credentials = try files.flatMap { try $0.credentials() }.filter { credential in
            let prefix = credential.prefix ?? ""
            return options.onlyPrefixes.map { $0.contains(prefix) } ?? true && !options.skippedPrefixes.contains(prefix)
        }
        plan.notes = try files.flatMap { env in
            try env.clientIDsWithoutSecret().map {
                DotEnv.Note(file: env.file, line: $0.line, message: "\($0.key) has no client secret beside it (a public client?); it stays in the file")
            }
        }
        if options.name != nil, credentials.count > 1 {
            let names = credentials.map { $0.secretEntry.key }.joined(separator: ", ")
            throw DotEnvError(file: files.count == 1 ? files[0].file : "the files", line: nil, message: "\(credentials.count) credentials (\(names)) cannot all be named \(options.name!): name only the realm, and each is named after its prefix", next: [.importAs(.realm)])
        }
        for credential in credentials {
            let ref = try ClientRef(realm: realmName(for: credential, options), name: clientName(for: credential, options))
            if let index = plan.items.firstIndex(where: { $0.ref.realm == ref.realm && ($0.ref == ref || $0.credential.clientID == credential.clientID) }) {
                let other = plan.items[index].credential
                guard plan.items[index].ref == ref, other.clientID == credential.clientID, other.secret.bytes.isEqual(to: credential.secret.bytes) else {
                    throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "\(credential.clientIDEntry.key) would be \(ref), but \(other.file):\(other.clientIDEntry.line) is \(plan.items[index].ref) with another credential", next: [.importAs(.separately)])
                }
                plan.items[index].credentials.append(credential)  // the same credential in two files
                continue
            }
            plan.items.append(try item(ref, credential, options, plan: &plan))
        }
        return plan
    }

    /// Adds the plan's realms and clients, and an `import` audit event per client, in one
    /// transaction: if anything fails, nothing is written.
    /// - Parameter plan: what `planImport` worked out, from this vault.
    /// - Parameter verified: whether `plan.verify()` found every credential accepted (recorded in the events).
    /// - Throws: `VaultError` (another process added the same realm or client meanwhile: `.alreadyExists`).
    public func apply(_ plan: DotEnvImportPlan, verified: Bool) throws {
        try vault.store.write {
            for realm in plan.newRealms { try addRealm(realm.name, realm.settings) }
            for item in plan.items where item.action == .add {
                let credential = item.credential
                try addClient(item.ref, ClientSettings(clientID: credential.clientID, authMethod: plan.authMethod), secret: credential.secret)
                let keys = credential.entries.map { "\($0.key) line \($0.lines)" }.joined(separator: ", ")
                try record(.imported, realm: item.ref.realm, client: item.ref.name,
                           detail: "from \(credential.file) (\(keys)); " + (verified ? "verified with a token request" : "not verified"))
            }
        }
    }

    private func realmName(for credential: DotEnvCredential, _ options: DotEnvImportPlan.Options) throws -> Name {
        if let realm = options.realm { return realm }
        guard let url = credential.endpoint?.tokenURL, let realm = EndpointURL.keycloakRealm(of: url), Name.isValid(realm.lowercased()) else {
            throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "cannot tell which realm \(credential.clientIDEntry.key) belongs to (its token URL is not a Keycloak realm's)", next: [.importAs(.realm)])
        }
        return Name(trusted: realm.lowercased())
    }

    private func clientName(for credential: DotEnvCredential, _ options: DotEnvImportPlan.Options) throws -> Name {
        if let name = options.name { return name }
        if let suggested = credential.suggestedName {
            guard Name.isValid(suggested) else {
                throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "the prefix of \(credential.clientIDEntry.key) does not make a client name (\(Name.rule))", next: [.importAs(.client)])
            }
            return Name(trusted: suggested)
        }
        guard Name.isValid(credential.clientID) else {
            throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "\(credential.clientIDEntry.key) has no prefix to name the client by, and its value is not a client name (\(Name.rule))", next: [.importAs(.client)])
        }
        return Name(trusted: credential.clientID)
    }

    /// What to do with `credential` as `ref`, checked against the vault and the realms the plan creates.
    private func item(_ ref: ClientRef, _ credential: DotEnvCredential, _ options: DotEnvImportPlan.Options,
                      plan: inout DotEnvImportPlan) throws -> DotEnvImportPlan.Item {
        let at = "\(credential.file):\(credential.clientIDEntry.line)"
        var realmSettings: RealmSettings
        var createsRealm = false
        if let realm = try existingRealm(ref.realm) {
            realmSettings = RealmSettings(realm)
            let realmURL = realm.tokenURL ?? realm.issuer.flatMap(EndpointURL.keycloakTokenURL)
            if let endpoint = credential.endpoint, !sameURL(endpoint.tokenURL, realmURL) && !(realm.tokenURL == nil && endpoint.issuer == realm.issuer) {
                throw VaultError(.conflict, "\(at): realm \(ref.realm) gets its tokens from \(realmURL ?? realm.secretEndpoint), but \(endpoint.source) names \(endpoint.tokenURL): another identity provider or realm; nothing was imported.", realm: ref.realm, next: [.importAs(.realm)])
            }
            realmSettings.tokenURL = realmURL
            for client in try vault.clients(in: ref.realm) where client.ref == ref || client.clientID == credential.clientID {
                guard client.clientID == credential.clientID else {
                    throw VaultError(.conflict, "\(at): \(ref) is in the vault already with client_id \(client.clientID); nothing was imported.", client: ref, next: [.importAs(.client)])
                }
                guard try currentSecret(of: client.ref).bytes.isEqual(to: credential.secret.bytes) else {
                    throw VaultError(.conflict, "\(at): client_id \(client.clientID) is in the vault already as \(client.ref), with another secret; nothing was imported. If the file's is newer, remove that client and import again.", client: client.ref)
                }
                return DotEnvImportPlan.Item(ref: client.ref, action: .alreadyPresent, credentials: [credential], createsRealm: false)
            }
        } else if let planned = plan.newRealms.first(where: { $0.name == ref.realm }) {
            realmSettings = planned.settings
            if let endpoint = credential.endpoint, !sameURL(endpoint.tokenURL, planned.settings.tokenURL) {
                throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "\(endpoint.source) names another token endpoint than the other credentials of realm \(ref.realm); a realm has one", next: [.importAs(.separately)])
            }
        } else {
            guard let endpoint = credential.endpoint else {
                throw DotEnvError(file: credential.file, line: credential.clientIDEntry.line, message: "there is no realm \(ref.realm), and the file names no token endpoint for \(credential.clientIDEntry.key): add TOKEN_URL (or KEYCLOAK_URL and KEYCLOAK_REALM), or import into an existing realm", next: [.importAs(.realm)])
            }
            realmSettings = RealmSettings(issuer: endpoint.issuer, tokenURL: endpoint.tokenURL, caFile: options.caFile,
                                          allowsInsecureHTTP: options.allowsInsecureHTTP)
            do { realmSettings = try realmSettings.validated() } catch let error as VaultError {
                throw VaultError(error.code, "\(credential.file), \(endpoint.source): \(error.message)", next: error.next)
            }
            plan.newRealms.append(DotEnvImportPlan.NewRealm(name: ref.realm, settings: realmSettings))
            createsRealm = true
        }
        var verification: TokenRequest?
        if options.verify {
            guard let tokenURL = realmSettings.tokenURL else {
                throw VaultError(.invalidInput, "\(at): realm \(ref.realm) has no token URL to check the credential with.", realm: ref.realm,
                                 next: [.updateRealm(ref.realm, .tokenURL), .skipVerification])
            }
            verification = TokenRequest(
                tokenURL: tokenURL, caFile: realmSettings.caFile, allowsInsecureHTTP: realmSettings.allowsInsecureHTTP,
                clientID: credential.clientID, authMethod: options.authMethod, secret: credential.secret,
                shape: TokenRequestShape(), ref: ref, purpose: .verification(version: 1))
        }
        return DotEnvImportPlan.Item(ref: ref, action: .add, credentials: [credential], createsRealm: createsRealm, verification: verification)
    }

    /// Equal but for a trailing slash.
    private func sameURL(_ a: String, _ b: String?) -> Bool {
        guard let b else { return false }
        func trimmed(_ url: String) -> Substring { url.hasSuffix("/") ? url.dropLast() : Substring(url) }
        return trimmed(a) == trimmed(b)
    }
}
