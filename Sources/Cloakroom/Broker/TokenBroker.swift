import CloakroomCrypto
package import CloakroomHTTP
import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Synchronization

/// Hands out access tokens for a vault's clients: from memory, from the vault's sealed cache,
/// or from the identity provider — once per expiry per request shape, however many tasks in
/// this process and processes on this machine ask at the same time.
///
/// ```swift
/// let broker = try TokenBroker(vault: path, credentials: [.keyFile(KeyFile.load(from: keyPath))])
/// let token = try await broker.token(for: "prod/orders").token
/// ```
public final class TokenBroker: Sendable {
    /// How long tokens are served, how long fetching one may take, and the clock that decides.
    /// The defaults are `cloak`'s.
    public struct Configuration: Sendable {
        /// A token is served only while at least this much of its life is left.
        public var minimumTTL: Duration = .seconds(30)
        /// Past this fraction of its life, a token is refreshed (and still served if that fails).
        public var refreshAfter: Double = 0.8
        /// How long fetching one token may take, retries included.
        public var deadline: Duration = .seconds(10)
        /// The time now; tests inject a clock here so that no test waits for a token to expire.
        public var clock: @Sendable () -> Date = { Date() }
        /// Where the broker's requests go: the process's one HTTP client unless given another.
        package var transport: HTTPTransport = .shared

        /// The defaults: 30 s minimum TTL, refresh after 80 % of a token's life, a 10 s deadline,
        /// the system clock.
        public init() {}
    }

    /// Where a token came from.
    public enum Source: String, Sendable {
        /// `memory`: this broker's memory layer; `cache`: the vault's sealed cache (filled by this or
        /// another process); `idp`: fetched from the identity provider just now.
        case memory, cache, idp
    }

    /// A token served by the broker, with where it came from.
    public struct Grant: Sendable {
        /// The token. Its `value` is the bearer credential: send it, never log it.
        public var token: AccessToken
        /// Where the token came from.
        public var source: Source
        /// Something the caller should tell its user, though the token was served: a cached
        /// token served because the IdP is down, a token that expires on arrival (clock skew),
        /// a token that could not be cached. Never holds a secret.
        public var warning: String?

        /// A grant of `token` from `source`, for tests and for code that wraps the broker.
        public init(token: AccessToken, source: Source, warning: String? = nil) {
            self.token = token
            self.source = source
            self.warning = warning
        }
    }

    struct Key: Hashable, Sendable {
        var client: ClientRef
        var shape: TokenRequestShape
    }

    /// The memory layer is keyed by the caller's words as given: a hit then costs one hash and
    /// one lookup, with no parsing or normalising (which took most of a 10 µs hit).
    private struct MemoryKey: Hashable, Sendable {
        var client: String
        var scopes: [String]
        var audience: String?
    }

    let vault: VaultAccess
    private let memory = Mutex<[MemoryKey: AccessToken]>([:])
    /// The last token got for each request, kept when memory is dropped: served, while fresh,
    /// only when the vault's server cannot be reached (see `token(for:…cache:)`).
    private let lastGot = Mutex<[MemoryKey: AccessToken]>([:])
    /// One fetch per request in this process. Keyed by what the callers asked for, not only by
    /// client and shape: a `refresh` caller must not be handed the cached token a plain fetch
    /// found, nor a caller wanting more life left one that satisfied a shorter `minimumTTL`.
    private struct FlightKey: Hashable {
        var key: Key
        var minimumTTL: Duration
        var refresh: Bool
    }

    private let inFlight = Mutex<[FlightKey: Task<Grant, any Error>]>([:])
    let configuration: Configuration
    let client: TokenClient
    let verifier: TokenVerifier
    /// The vault's shared locks: one fetch per request across processes.
    let locks: any VaultLocks
    /// The vault can only be read: tokens are fetched (and returned) but not cached.
    let readOnlyVault: Bool
    /// Clients this process is rotating now (it holds their rotation locks).
    let rotating = Mutex<Set<ClientRef>>([])

    /// Opens and unlocks the vault at `path`.
    /// - Throws: what `Vault.open(at:busyTimeout:clock:)` and `Vault.unlock(with:all:)` throw
    ///   (`VaultError` `.notFound`, `.cannotUnlock`, `.corrupted`, …), and `VaultError`
    ///   `.permissions` or `.io` when the lock directory beside the vault cannot be made.
    public convenience init(vault path: String, credentials: [VaultCredential], configuration: Configuration = Configuration()) throws {
        try self.init(try Vault.open(at: path, clock: configuration.clock).unlock(with: credentials), configuration: configuration)
    }

    /// Takes over `vault`: from now on only the broker uses it.
    ///
    /// Creates the lock directory `VAULT.locks/` (0700) beside the vault file, where processes
    /// take turns fetching a token; a read-only vault needs none.
    /// - Throws: `VaultError` `.permissions` or `.io` when that directory cannot be made.
    public init(_ vault: sending UnlockedVault, configuration: Configuration = Configuration()) throws {
        locks = vault.vault.store.locks
        readOnlyVault = vault.vault.store.isReadOnly
        try locks.prepare()
        self.vault = VaultAccess(vault)
        self.configuration = configuration
        var client = TokenClient()
        client.deadline = configuration.deadline
        client.clock = configuration.clock
        client.transport = configuration.transport
        self.client = client
        verifier = TokenVerifier(client: client)
    }

    /// `cachedToken(for:…)` for a `ClientRef`.
    /// - Throws: as the other, without `.invalidInput` for the name.
    public func cachedToken(for client: ClientRef, scopes: [String] = [], audience: String? = nil, minimumTTL: Duration? = nil) throws -> Grant? {
        try cachedToken(for: client.description, scopes: scopes, audience: audience, minimumTTL: minimumTTL)
    }

    /// A token from memory or the vault's cache, without any network and without starting an
    /// event loop or a task: what `cloak token` tries before anything else. `nil` on a miss.
    /// - Throws: `VaultError.invalidInput` for a malformed client name, scope or audience;
    ///   `.corrupted` when the client's row was changed outside cloak. An unknown client is a miss.
    public func cachedToken(for client: String, scopes: [String] = [], audience: String? = nil, minimumTTL: Duration? = nil) throws -> Grant? {
        let memoryKey = MemoryKey(client: client, scopes: scopes, audience: audience)
        let minimumTTL = minimumTTL ?? configuration.minimumTTL
        if let token = memory.withLock({ $0[memoryKey] }), isFresh(token, minimumTTL: minimumTTL) { return Grant(token: token, source: .memory) }
        let key = Key(client: try ClientRef(client), shape: try TokenRequestShape(scopes: scopes, audience: audience).validated())
        let now = configuration.clock()
        guard let token = try vault.blocking({ try $0.cachedToken(for: key.client, key.shape, minimumTTL: .zero, now: now) }),
              isFresh(token, minimumTTL: minimumTTL) else { return nil }
        memory.withLock { $0[memoryKey] = token }
        return Grant(token: token, source: .cache)
    }

    /// A fresh cached token from `vault` alone: no broker, no lock directory, no task.
    /// What `cloak token` uses first, to keep a cache hit to one row read and one seal opened.
    /// - Throws: as the instance method `cachedToken(for:scopes:audience:minimumTTL:)`.
    public static func cachedToken(in vault: UnlockedVault, for client: String, scopes: [String] = [], audience: String? = nil,
                                   configuration: Configuration = Configuration()) throws -> Grant? {
        let entry = try cacheEntry(in: vault, for: client, scopes: scopes, audience: audience, configuration: configuration)
        guard let token = entry, isFresh(token, minimumTTL: configuration.minimumTTL, configuration: configuration) else { return nil }
        return Grant(token: token, source: .cache)
    }

    /// The vault's cache entry for the request, fresh or not: what `cachedToken(in:…)` decides on,
    /// and what a miss hands on to `token(for:…cache:)` so that it is not read again.
    package static func cacheEntry(in vault: UnlockedVault, for client: String, scopes: [String] = [], audience: String? = nil,
                                   configuration: Configuration = Configuration()) throws -> AccessToken? {
        try vault.cachedToken(for: ClientRef(client), TokenRequestShape(scopes: scopes, audience: audience).validated(), minimumTTL: .zero,
                              now: configuration.clock())
    }

    /// Whether `token` is served at `configuration`'s clock for `minimumTTL` more seconds.
    package static func isFresh(_ token: AccessToken, minimumTTL: Duration, in configuration: Configuration) -> Bool {
        isFresh(token, minimumTTL: minimumTTL, configuration: configuration)
    }

    /// A token for `client` (`REALM/NAME`) good for at least `minimumTTL` more.
    ///
    /// Concurrent calls for the same client and shape share one request to the IdP. While the IdP
    /// is unavailable, a cached token that is still valid is served with `Grant.warning` set.
    /// - Parameter client: the client, as `REALM/NAME` (`"prod/orders"`).
    /// - Parameter scopes: scopes to ask for beyond the client's own; each shape is cached apart.
    /// - Parameter audience: the `audience` form parameter, for IdPs that take one.
    /// - Parameter minimumTTL: how long the token must still be valid; `nil`: the configuration's.
    /// - Parameter refresh: skip memory and cache and ask the identity provider.
    /// - Throws: `VaultError` (`.invalidInput` for a malformed name, scope or audience, `.notFound`
    ///   for an unknown realm or client, `.corrupted` for an altered row or secret, `.busy`, `.io`)
    ///   or `TokenError` (`.rejected` credentials, `.unavailable` IdP, `.malformedResponse`,
    ///   `.refused` by TLS or URL policy).
    public func token(
        for client: String, scopes: [String] = [], audience: String? = nil, minimumTTL: Duration? = nil, refresh: Bool = false
    ) async throws -> Grant {
        try await token(for: client, scopes: scopes, audience: audience, minimumTTL: minimumTTL, refresh: refresh, cache: .unread)
    }

    /// A token for `client`, as `token(for:…)` with the client's name as text: a `ClientRef` is a
    /// valid `REALM/NAME` by construction, so only the vault and the IdP can fail.
    /// - Throws: as `token(for:…)`, without `.invalidInput` for the name.
    public func token(
        for client: ClientRef, scopes: [String] = [], audience: String? = nil, minimumTTL: Duration? = nil, refresh: Bool = false
    ) async throws -> Grant {
        try await token(for: client.description, scopes: scopes, audience: audience, minimumTTL: minimumTTL, refresh: refresh, cache: .unread)
    }

    /// What the caller already knows of the vault's cache entry for a request.
    package enum CacheLookup: Sendable {
        /// Nothing: read it before taking the lock.
        case unread
        /// Read already (by `cloak token`'s fast path, which found no fresh token): the entry it
        /// found, fresh or not. The broker then reads the cache once more only under the
        /// cross-process lock, which it must: another process may have fetched meanwhile.
        case read(AccessToken?)
    }

    /// `token(for:…)`, for a caller that has read the cache already.
    package func token(
        for client: String, scopes: [String] = [], audience: String? = nil, minimumTTL: Duration? = nil, refresh: Bool = false,
        cache lookup: CacheLookup
    ) async throws -> Grant {
        let memoryKey = MemoryKey(client: client, scopes: scopes, audience: audience)
        let minimumTTL = minimumTTL ?? configuration.minimumTTL
        if !refresh, let token = memory.withLock({ $0[memoryKey] }), isFresh(token, minimumTTL: minimumTTL) {
            return Grant(token: token, source: .memory)
        }
        let key = Key(client: try ClientRef(client), shape: try TokenRequestShape(scopes: scopes, audience: audience).validated())
        let flight = FlightKey(key: key, minimumTTL: minimumTTL, refresh: refresh)
        let task = inFlight.withLock { tasks in
            if let running = tasks[flight] { return running }
            let task = Task { try await self.fetch(key, minimumTTL: minimumTTL, refresh: refresh, cache: lookup) }
            tasks[flight] = task
            return task
        }
        defer { _ = inFlight.withLock { tasks in tasks[flight] == task ? tasks.removeValue(forKey: flight) : nil } }
        let grant: Grant
        do {
            grant = try await task.value
        } catch let error as VaultError where error.code == .vaultUnavailable {
            // A team vault's server is away (a restart, a failover): a token got earlier that is
            // still fresh beats none. Memory may have been dropped for a change another host made
            // meanwhile; the token stays valid at the IdP until it expires, even after a rotation.
            guard !refresh, let token = lastGot.withLock({ $0[memoryKey] }), isFresh(token, minimumTTL: minimumTTL) else { throw error }
            return Grant(token: token, source: .memory, warning: "the vault could not be reached, so a token got before was served: \(error.message)")
        }
        memory.withLock { $0[memoryKey] = grant.token }
        lastGot.withLock { $0[memoryKey] = grant.token }
        return grant
    }

    /// Valid for `minimumTTL` more seconds and not yet due for an early refresh.
    private func isFresh(_ token: AccessToken, minimumTTL: Duration) -> Bool {
        Self.isFresh(token, minimumTTL: minimumTTL, configuration: configuration)
    }

    private static func isFresh(_ token: AccessToken, minimumTTL: Duration, configuration: Configuration) -> Bool {
        let now = configuration.clock()
        let life = token.expiresAt.timeIntervalSince(token.issuedAt)
        return token.remaining(at: now) > minimumTTL && now.timeIntervalSince(token.issuedAt) < life * configuration.refreshAfter
    }

    /// The leader's path: the cross-process lock, the vault cache again, then the IdP.
    private func fetch(_ key: Key, minimumTTL: Duration, refresh: Bool, cache lookup: CacheLookup) async throws -> Grant {
        let now = configuration.clock()
        let cached: AccessToken?
        switch lookup {
        case .read(let entry): cached = entry
        case .unread: cached = try await vault.run { try $0.cachedToken(for: key.client, key.shape, minimumTTL: .zero, now: now) }
        }
        if !refresh, let cached, isFresh(cached, minimumTTL: minimumTTL) { return Grant(token: cached, source: .cache) }

        let end = ContinuousClock.now + configuration.deadline
        guard let lock = try await locks.acquire(lockName(for: key), until: end) else {
            let problem = "another process has been fetching a token for \(key.client) for longer than \(configuration.deadline)"
            if !refresh, let cached, cached.remaining(at: configuration.clock()) > .zero {
                return Grant(token: cached, source: .cache, warning: Self.servedStale(cached, key.client, because: problem, now: configuration.clock()))
            }
            throw TokenError.unavailable("\(problem); try again.")
        }
        // Another process may have fetched while we waited for the lock.
        let after = try await vault.run { [clock = configuration.clock] in try $0.cachedToken(for: key.client, key.shape, minimumTTL: .zero, now: clock()) }
        if let after, isFresh(after, minimumTTL: minimumTTL), !refresh || after.issuedAt != cached?.issuedAt {
            return Grant(token: after, source: .cache)
        }
        if try await vault.run({ try $0.openRotation(of: key.client) }) != nil, !rotating.withLock({ $0.contains(key.client) }) {
            // Tried once, not waited for: this holds the fetch lock, and a live rotation of an
            // admin client in another process needs that very lock for its admin token. Waiting
            // here deadlocked two hosts' agents until the deadline (one rotated an admin client
            // while the other fetched its token for a rotation of its own; the first failed as
            // unavailable, the second rotated it again). A rotation that is live is not
            // interrupted: the fetch goes on with the current secret, and a refusal below waits.
            await settleInterruptedRotation(of: key.client, until: .now)
        }
        var (stored, version) = try await vault.run { try $0.tokenRequest(for: key.client, key.shape) }
        var retriedAfterRotation = false
        while true {
            let request = stored
            do {
                let token = try await send(request)
                let warning = await keep(token, for: key, secretVersion: version, shape: request.shape)
                _ = consume lock
                return Grant(token: token, source: .idp, warning: warning ?? Self.shorterThanAsked(token, key.client, minimumTTL: minimumTTL))
            } catch let error as TokenError {
                if case .rejected = error, !retriedAfterRotation,
                   let replaced = await secretReplacedByRotation(of: key.client, since: version, shape: key.shape, until: end) {
                    retriedAfterRotation = true
                    (stored, version) = replaced
                    continue
                }
                if case .rejected(_, let status, let code, _) = error {
                    // Worth a line in the log (a revoked or wrong secret), but never at the cost of
                    // the error the caller must see.
                    let code = code.flatMap { $0.count <= 64 && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0 == "_") } ? $0 : nil }
                    _ = await vault.run {
                        $0.recordIfPossible(.tokenFetched, realm: key.client.realm, client: key.client.name, outcome: .failed,
                                            detail: "rejected by the identity provider: HTTP \(status)" + (code.map { " \($0)" } ?? ""))
                    }
                }
                // The IdP is down, but a token from before is still valid: serve it rather than fail,
                // and say so. Not for `refresh`: its caller asked for a new token, and the old one
                // (which it may be replacing because a service refused it) is no answer to that.
                if case .unavailable = error, !refresh, let after, after.remaining(at: configuration.clock()) > .zero {
                    return Grant(token: after, source: .cache, warning: Self.servedStale(after, key.client, because: "\(error)", now: configuration.clock()))
                }
                throw error
            }
        }
    }

    /// Drops what memory holds for `client`: after a rotation, tokens come from the new secret.
    func forget(_ client: ClientRef) {
        memory.withLock { tokens in
            for key in tokens.keys where (try? ClientRef(key.client)) == client { tokens[key] = nil }
        }
    }

    /// The token memory holds for this request, if it is fresh: what `token(for:…)` would answer
    /// first, without a task or a suspension (the agent answers from it on its event loop).
    package func memoryToken(for client: String, scopes: [String], audience: String?, minimumTTL: Duration?) -> AccessToken? {
        guard let token = memory.withLock({ $0[MemoryKey(client: client, scopes: scopes, audience: audience)] }),
              isFresh(token, minimumTTL: minimumTTL ?? configuration.minimumTTL) else { return nil }
        return token
    }

    /// Drops everything memory holds: the vault changed under a long-running broker (a client
    /// removed, a secret rotated by another process), and what it holds may no longer stand.
    package func forgetAll() {
        memory.withLock { $0.removeAll() }
    }

    /// The lock one fetch of `key` holds, across processes.
    func lockName(for key: Key) -> String {
        Sodium.digest(Array("\(key.client)\n\(key.shape.cacheKey)".utf8), length: 16).hex
    }
}
