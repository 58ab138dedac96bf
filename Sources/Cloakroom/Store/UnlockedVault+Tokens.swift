import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What a token request asks for, beyond the client: the cache is keyed by it.
public struct TokenRequestShape: Hashable, Sendable {
    /// Scopes, deduplicated and sorted: `a b` and `b a` are one cache entry.
    public let scopes: [String]
    /// The `audience` form parameter, if any.
    public let audience: String?

    /// A shape of `scopes` (empty ones dropped, duplicates merged, sorted) and `audience`; not
    /// checked until `validated()`.
    public init(scopes: [String] = [], audience: String? = nil) {
        self.scopes = Array(Set(scopes.filter { !$0.isEmpty })).sorted()
        self.audience = audience
    }

    /// This shape, if every scope is an OAuth scope token and the audience has no control
    /// characters: both go into a request body, and into `cacheKey`, which a newline would make
    /// ambiguous.
    /// - Throws: `VaultError.invalidInput` naming what is wrong (never echoing control characters).
    public func validated() throws -> TokenRequestShape {
        for scope in scopes {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            guard scope.unicodeScalars.allSatisfy({ $0.value == 0x21 || (0x23...0x5B).contains($0.value) || (0x5D...0x7E).contains($0.value) }) else {
                let shown = scope.unicodeScalars.contains { $0.value < 0x20 || $0.value >= 0x7F } ? "" : " '\(scope.prefix(80))'"
                throw VaultError(.invalidInput, "scope\(shown) is not a valid OAuth scope token (RFC 6749 §3.3: printable ASCII without spaces, '\"' or '\\').")
            }
        }
        if let audience, audience.isEmpty || audience.containsControlCharacters {
            throw VaultError(.invalidInput, "the audience must be non-empty and without control characters (a newline, a tab, ESC).")
        }
        return self
    }

    /// The cache key: stable text, unambiguous because neither part can hold a newline.
    /// Appended by hand: `joined(separator:)` is generic over `StringProtocol` elements, and in a
    /// static binary the runtime's first check that `String` conforms scans every conformance
    /// record (~0.15 M instructions per call on the cached-token path).
    var cacheKey: String {
        var key = "scope="
        for (index, scope) in scopes.enumerated() {
            if index > 0 { key += " " }
            key += scope
        }
        key += "\naudience="
        key += audience ?? ""
        return key
    }
}

/// One entry of the token cache, as `cloak cache list` shows it (never the token).
public struct CachedTokenInfo: Sendable {
    /// The client the token is for.
    public var client: ClientRef
    /// What was asked for, on one line: `scope=… audience=…`.
    public var shape: String
    /// The secret version the token was fetched with.
    public var secretVersion: Int
    /// When it was requested.
    public var issuedAt: Date
    /// When it stops being served.
    public var expiresAt: Date
    /// The scopes the IdP granted (space-separated), if it said.
    public var scope: String?
}

extension UnlockedVault {
    /// Where a cached token belongs; opening succeeds only with all of it unchanged.
    struct TokenSlot {
        var clientRowID: Int64
        var cacheKey: String
        var secretVersion: Int
        var endpoint: String
        var issuedAt: Int64
        var expiresAt: Int64
    }

    func context(for slot: TokenSlot) -> AssociatedData {
        var context = AssociatedData("cloakroom cached-token v1")
        context.append(bytes: vault.vaultID)
        context.append(slot.clientRowID)
        context.append(slot.cacheKey)
        context.append(Int64(slot.secretVersion))
        context.append(slot.endpoint)
        context.append(slot.issuedAt)
        context.append(slot.expiresAt)
        return context
    }

    /// The cached token for `client` and `shape` that is still good for `minimumTTL` at `now`,
    /// sealed for the client's current secret version and its realm's current endpoint.
    /// Reads one row and opens one sealed value; a token that does not open is treated as absent
    /// (and will be replaced), since it can always be fetched again.
    ///
    /// The same row carries what the client's tag covers: a token is served only for a client row
    /// that verifies (a swapped name or realm name would otherwise serve another client's token).
    /// - Throws: `VaultError.corrupted` when the client's row was changed outside cloak.
    public func cachedToken(for client: ClientRef, _ shape: TokenRequestShape, minimumTTL: Duration, now: Date) throws -> AccessToken? {
        guard (Duration.zero...Self.longestPeriod).contains(minimumTTL) else {
            throw VaultError(.invalidInput, "a token's minimum time to live must be from 0 seconds to a century.")
        }
        let cutoff = Int64(((now.timeIntervalSince1970 + minimumTTL.inSeconds) * 1000).rounded(.down))
        let cacheKey = shape.cacheKey
        guard let (record, client) = try vault.store.tokenCache.token(
            realm: client.realm.rawValue, client: client.name.rawValue, cacheKey: cacheKey, expiringAfter: cutoff) else { return nil }
        try verifyClientTag(client)
        let slot = TokenSlot(clientRowID: record.clientRowID, cacheKey: cacheKey, secretVersion: Int(record.secretVersion),
                             endpoint: record.endpoint, issuedAt: record.issuedAt, expiresAt: record.expiresAt)
        guard let bytes = tokensKey.open(record.sealed, authenticating: context(for: slot)) else { return nil }
        let value = bytes.withUnsafeBytes { String(decoding: $0, as: UTF8.self) }
        return AccessToken(value: value, expiresAt: Date(milliseconds: slot.expiresAt), issuedAt: Date(milliseconds: slot.issuedAt), scope: record.scope)
    }

    /// Stores `token` as the cache entry for `client` and `shape`, sealed for `secretVersion`.
    /// - Throws: `VaultError` `.notFound`; `.busy`, `.io` or `.permissions` when it cannot be written.
    public func storeToken(_ token: AccessToken, for client: ClientRef, _ shape: TokenRequestShape, secretVersion: Int) throws {
        try vault.store.write {
            let record = try vault.client(client)
            let realm = try vault.realm(named: client.realm)
            let slot = TokenSlot(clientRowID: record.rowID, cacheKey: shape.cacheKey, secretVersion: secretVersion,
                                 endpoint: realm.secretEndpoint, issuedAt: token.issuedAt.milliseconds, expiresAt: token.expiresAt.milliseconds)
            let box = tokensKey.seal(SecureBytes(copying: Array(token.value.utf8)), authenticating: context(for: slot))
            try vault.store.tokenCache.store(CachedTokenRecord(
                clientRowID: record.rowID, cacheKey: slot.cacheKey, secretVersion: Int64(secretVersion), endpoint: slot.endpoint,
                issuedAt: slot.issuedAt, expiresAt: slot.expiresAt, scope: token.scope, sealed: box))
        }
    }

    /// Drops cached tokens: of one client, or all. Returns how many.
    /// - Throws: `VaultError` `.notFound` for an unknown client; `.busy`, `.io`, `.permissions`.
    @discardableResult
    public func clearTokenCache(for client: ClientRef? = nil) throws -> Int {
        try vault.store.write {
            try vault.store.tokenCache.remove(clientRowID: try client.map { try vault.client($0).rowID })
        }
    }
}

extension Vault {
    /// The token cache's entries, without the tokens.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func cachedTokens() throws -> [CachedTokenInfo] {
        try store.tokenCache.entries().map { entry in
            CachedTokenInfo(
                client: ClientRef(realm: Name(trusted: entry.realm), name: Name(trusted: entry.client)),
                shape: entry.cacheKey.replacing("\n", with: " "), secretVersion: Int(entry.secretVersion),
                issuedAt: Date(milliseconds: entry.issuedAt), expiresAt: Date(milliseconds: entry.expiresAt), scope: entry.scope)
        }
    }
}

extension Date {
    init(milliseconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(milliseconds) / 1000) }
    var milliseconds: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}
