import CloakroomCrypto
/// One OAuth client credential found in a `.env` file: a client_id, its secret, and where
/// tokens come from, with the lines they were read from.
///
/// Names are read case-insensitively as `[PREFIX_]ROLE`, where ROLE is one of
///
/// | role | names |
/// |---|---|
/// | client_id | `CLIENT_ID` |
/// | secret | `CLIENT_SECRET` |
/// | token endpoint | `TOKEN_URL`, `TOKEN_URI`, `TOKEN_ENDPOINT` |
/// | Keycloak base URL | `KEYCLOAK_URL`, `KEYCLOAK_SERVER_URL`, `KEYCLOAK_BASE_URL`, `KEYCLOAK_AUTH_SERVER_URL` |
/// | Keycloak realm | `KEYCLOAK_REALM` |
/// | OIDC issuer | `ISSUER`, `ISSUER_URL`, `ISSUER_URI` (so also `OIDC_ISSUER`) |
///
/// and the words `OAUTH`, `OAUTH2`, `OIDC`, `KEYCLOAK`, `KC` and `SSO` in a prefix say nothing
/// (`OAUTH_CLIENT_ID` is unprefixed, `ORDERS_OIDC_CLIENT_ID` is `ORDERS`'s). Each prefix with a
/// client_id and a secret is one credential. Its token endpoint is its own prefix's, else the
/// unprefixed one: a `TOKEN_URL`; else `KEYCLOAK_URL` + `KEYCLOAK_REALM` →
/// `BASE/realms/REALM/protocol/openid-connect/token` (a base ending in `/auth`, as Keycloak ≤ 16
/// serves, is kept); else a Keycloak issuer `…/realms/NAME` → `ISSUER/protocol/openid-connect/token`.
/// Names that say the same thing twice must agree.
public struct DotEnvCredential: Sendable {
    /// The prefix that groups its names, upper case, without generic words (`ORDERS` of
    /// `orders_oauth_client_id`); `nil` for none.
    public var prefix: String?
    /// The client_id at the identity provider.
    public var clientID: String
    /// The client secret, in secure memory.
    public var secret: ClientSecret
    /// Where its tokens come from, when the file says.
    public var endpoint: Endpoint?
    /// The file and the assignments it was read from (the endpoint's included).
    public var file: String
    /// Every assignment it was read from, in file order.
    public var entries: [DotEnv.Entry]

    /// The assignment of its client_id, for messages.
    public var clientIDEntry: DotEnv.Entry
    /// The assignment of its secret, for messages (its line, never its value).
    public var secretEntry: DotEnv.Entry

    /// Where a credential's tokens come from, as the file says.
    public struct Endpoint: Sendable, Equatable {
        /// The token endpoint: given, or built from a Keycloak base URL and realm, or from a
        /// Keycloak issuer.
        public var tokenURL: String
        /// The issuer, when the file named one.
        public var issuer: String?
        /// The names and first line it was read from, for messages (`TOKEN_URL (line 2)`).
        public var source: String
    }

    /// The name the prefix suggests: `ORDERS_API` → `orders-api`.
    public var suggestedName: String? { prefix.map { $0.lowercased().replacingUnderscores } }
}

extension DotEnv {
    /// The credentials this file holds, in the order their client_ids appear. A client_id
    /// without a secret (a public client, say) is not one: see `clientIDsWithoutSecret()`.
    /// - Throws: `DotEnvError` for a secret without a client_id, names that disagree, an
    ///   unusable value, or a value with `$VARIABLES` other tools would expand.
    public func credentials() throws -> [DotEnvCredential] {
        let (groups, order) = try roleGroups()
        let shared = try endpoint(groups[""] ?? [:])
        var credentials: [DotEnvCredential] = []
        for prefix in order {
            let group = groups[prefix] ?? [:]
            guard let secretEntry = group[.secret] else { continue }
            guard let id = group[.clientID] else {
                throw DotEnvError(file: file, line: secretEntry.line, message: "\(secretEntry.key) has no \(prefix.isEmpty ? "" : prefix + "_")CLIENT_ID beside it")
            }
            let clientID = try text(id)
            guard !clientID.isEmpty else { throw DotEnvError(file: file, line: id.line, message: "\(id.key) is empty") }
            guard !secretEntry.mentionsVariable else { throw interpolation(secretEntry) }
            let secret: ClientSecret
            do { secret = try secretEntry.value.secret() } catch let error as VaultError {
                throw DotEnvError(file: file, line: secretEntry.line, message: "\(secretEntry.key): \(error.message)")
            }
            let own = try prefix.isEmpty ? nil : endpoint(group)
            let endpoint = own ?? shared
            let endpointEntries = (own != nil ? group : groups[""] ?? [:]).filter { $0.key.isEndpoint }.map(\.value)
            credentials.append(DotEnvCredential(
                prefix: prefix.isEmpty ? nil : prefix,
                clientID: clientID, secret: secret, endpoint: endpoint, file: file,
                entries: ([id, secretEntry] + (endpoint == nil ? [] : endpointEntries)).sorted { $0.line < $1.line },
                clientIDEntry: id, secretEntry: secretEntry))
        }
        return credentials.sorted { $0.clientIDEntry.line < $1.clientIDEntry.line }
    }

    /// Client_ids with no secret beside them, which `credentials()` leaves alone.
    /// - Throws: `DotEnvError` as `credentials()` does for names that disagree.
    public func clientIDsWithoutSecret() throws -> [DotEnv.Entry] {
        let (groups, order) = try roleGroups()
        return order.compactMap { groups[$0]?[.secret] == nil ? groups[$0]?[.clientID] : nil }
    }

    /// The names this file gives a role, by prefix (`""` for none), and the prefixes in order.
    private func roleGroups() throws -> ([String: [Role: DotEnv.Entry]], [String]) {
        var groups: [String: [Role: DotEnv.Entry]] = [:]
        var order: [String] = []
        for entry in entries {
            guard let (prefix, role) = Role.parse(entry.key) else { continue }
            if groups[prefix] == nil { order.append(prefix) }
            let existing = groups[prefix]?[role]
            if let existing, existing.key != entry.key, !existing.value.bytes.isEqual(to: entry.value.bytes) {
                throw DotEnvError(file: file, line: entry.line, message: "\(entry.key) and \(existing.key) (line \(existing.line)) say different things; keep one")
            }
            groups[prefix, default: [:]][role] = entry  // the last one wins, as for any name
        }
        return (groups, order)
    }

    /// The token endpoint a group of names gives, if any.
    private func endpoint(_ group: [Role: DotEnv.Entry]) throws -> DotEnvCredential.Endpoint? {
        var found: DotEnvCredential.Endpoint?
        func offer(_ url: String, issuer: String? = nil, from entry: DotEnv.Entry, source: String) throws {
            if let found, found.tokenURL != url {
                throw DotEnvError(file: file, line: entry.line, message: "\(source) names another token endpoint than \(found.source); keep one")
            }
            found = found ?? DotEnvCredential.Endpoint(tokenURL: url, issuer: issuer, source: source)
            if found?.issuer == nil { found?.issuer = issuer }
        }
        if let entry = group[.tokenURL] {
            try offer(try text(entry, nonEmpty: true), from: entry, source: "\(entry.key) (line \(entry.line))")
        }
        if let base = group[.keycloakURL] {
            var url = try text(base, nonEmpty: true)
            var realm = try group[.keycloakRealm].map { try text($0, nonEmpty: true) }
            if let inURL = EndpointURL.keycloakRealm(of: url), let server = EndpointURL.keycloakServer(of: url) {
                // KEYCLOAK_URL=https://sso/realms/prod: the realm is in the URL.
                guard realm == nil || realm == inURL else {
                    throw DotEnvError(file: file, line: base.line, message: "\(base.key) names realm \(inURL) but \(group[.keycloakRealm]!.key) another")
                }
                realm = inURL
                url = server
            }
            guard let realm else {
                throw DotEnvError(file: file, line: base.line, message: "\(base.key) needs KEYCLOAK_REALM beside it (the realm's name)")
            }
            guard !realm.isEmpty, realm.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && !"/?#%".utf8.contains($0) }) else {
                throw DotEnvError(file: file, line: group[.keycloakRealm]?.line ?? base.line, message: "the Keycloak realm name has characters a URL path cannot hold as they are")
            }
            while url.hasSuffix("/") { url.removeLast() }
            let source = "\(base.key) and \(group[.keycloakRealm]?.key ?? "its realm") (line \(base.line))"
            try offer(url + "/realms/" + realm + "/protocol/openid-connect/token", from: base, source: source)
        } else if let realm = group[.keycloakRealm], found == nil {
            throw DotEnvError(file: file, line: realm.line, message: "\(realm.key) needs KEYCLOAK_URL beside it (the server's address)")
        }
        if let entry = group[.issuer] {
            let issuer = try text(entry, nonEmpty: true)
            if let url = EndpointURL.keycloakTokenURL(issuer: issuer) {
                try offer(url, issuer: issuer, from: entry, source: "\(entry.key) (line \(entry.line))")
            } else if found == nil {
                throw DotEnvError(file: file, line: entry.line, message: "\(entry.key) is not a Keycloak issuer (…/realms/NAME), so its token endpoint is not known: add it as TOKEN_URL")
            } else {
                found?.issuer = issuer
            }
        }
        return found
    }

    /// The text of a value that is not secret (a URL, a client_id).
    private func text(_ entry: DotEnv.Entry, nonEmpty: Bool = false) throws -> String {
        guard !entry.mentionsVariable else { throw interpolation(entry) }
        guard let text = entry.value.text, !text.containsControlCharacters else {
            throw DotEnvError(file: file, line: entry.line, message: "\(entry.key) is not one line of UTF-8 text")
        }
        if nonEmpty && text.isEmpty { throw DotEnvError(file: file, line: entry.line, message: "\(entry.key) is empty") }
        return text
    }

    private func interpolation(_ entry: DotEnv.Entry) -> DotEnvError {
        DotEnvError(file: file, line: entry.line, message: "\(entry.key) holds a $VARIABLE, which docker compose, python-dotenv and a shell would replace but cloak does not; write the value out, or put it in 'single quotes' if the $ is meant literally")
    }
}

/// What a name in a `.env` file is for.
enum Role: CaseIterable {
    case clientID, secret, tokenURL, keycloakURL, keycloakRealm, issuer

    /// Longest first, so that `KEYCLOAK_SERVER_URL` is not read as a prefix and `URL`.
    static let suffixes: [([Substring], Role)] = [
        (["KEYCLOAK", "AUTH", "SERVER", "URL"], .keycloakURL),
        (["KEYCLOAK", "SERVER", "URL"], .keycloakURL),
        (["KEYCLOAK", "BASE", "URL"], .keycloakURL),
        (["KEYCLOAK", "URL"], .keycloakURL),
        (["KEYCLOAK", "REALM"], .keycloakRealm),
        (["CLIENT", "SECRET"], .secret),
        (["CLIENT", "ID"], .clientID),
        (["TOKEN", "ENDPOINT"], .tokenURL),
        (["TOKEN", "URL"], .tokenURL),
        (["TOKEN", "URI"], .tokenURL),
        (["ISSUER", "URL"], .issuer),
        (["ISSUER", "URI"], .issuer),
        (["ISSUER"], .issuer),
    ]

    /// Words that say which protocol or product, not which client.
    static let genericWords: Set<Substring> = ["OAUTH", "OAUTH2", "OIDC", "KEYCLOAK", "KC", "SSO"]

    /// The prefix (upper case, generic words dropped, `""` for none) and the role of `key`.
    static func parse(_ key: String) -> (String, Role)? {
        let words = key.uppercased().split(separator: "_", omittingEmptySubsequences: false)
        for (suffix, role) in suffixes where words.count >= suffix.count && Array(words.suffix(suffix.count)) == suffix {
            return (words.dropLast(suffix.count).filter { !genericWords.contains($0) && !$0.isEmpty }.joined(separator: "_"), role)
        }
        return nil
    }
}

extension Role {
    /// Says where tokens come from (rather than who asks).
    var isEndpoint: Bool { self != .clientID && self != .secret }
}

extension String {
    fileprivate var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}
