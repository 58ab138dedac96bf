import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
internal import Synchronization

extension TokenBroker {
    /// How long the write after a fetch waits for the vault's write lock, at least. The request
    /// is spent by then — the IdP counted it and issued a token — so giving up after the (short)
    /// busy timeout would throw away a token and leave no trace of it; waiting longer costs only
    /// this caller time, and only when another process is writing.
    static let fetchedTokenWriteWait: Duration = .seconds(10)

    /// A token the IdP just issued: caches it and records its `token.fetched` event in one
    /// transaction, waiting for the write lock at least `fetchedTokenWriteWait`. Never throws:
    /// the token is the caller's whatever happens here.
    ///
    /// A token that expires on arrival — within a second of being requested, or already expired
    /// by this machine's clock (an IdP clock behind ours, or `expires_in: 0.0001`) — is recorded
    /// but not cached: the cache holds only tokens worth serving again (and its `expires_at >
    /// issued_at` check would refuse it). It is returned once, with a warning naming clock skew.
    ///
    /// - Returns: a warning for the caller, or `nil` when all went as it should.
    func keep(_ token: AccessToken, for key: Key, secretVersion: Int, shape: TokenRequestShape) async -> String? {
        let lifeMilliseconds = token.expiresAt.milliseconds - token.issuedAt.milliseconds
        let deadOnArrival = lifeMilliseconds < 1000 || token.remaining(at: configuration.clock()) < .seconds(1)
        var note = Self.auditDetail(token, secretVersion: secretVersion, shape: shape)
        if deadOnArrival { note += "; not cached: it expires on arrival (clock skew?)" }
        let detail = note
        do {
            try await vault.run { vault in
                let store = vault.vault.store
                try store.waitingForWriteLock(upTo: max(store.writeLockWait, Self.fetchedTokenWriteWait)) {
                    try store.write {
                        if !deadOnArrival { try vault.storeToken(token, for: key.client, key.shape, secretVersion: secretVersion) }
                        try vault.record(.tokenFetched, realm: key.client.realm, client: key.client.name, detail: detail)
                    }
                }
            }
        } catch {
            let reason = (error as? VaultError)?.message ?? "\(error)"
            return "the token for \(key.client) was fetched but could not be \(deadOnArrival ? "recorded" : "cached or recorded") in the vault (\(reason)); it is served all the same."
        }
        return deadOnArrival ? Self.expiresOnArrival(token, key.client) : nil
    }

    /// The warning for a fresh token whose whole life is shorter than the minimum TTL asked for:
    /// served (it is the freshest there is), but no call will ever find it in the cache, so each
    /// goes to the IdP — silently, before.
    static func shorterThanAsked(_ token: AccessToken, _ client: ClientRef, minimumTTL: Duration) -> String? {
        let life = token.expiresAt.timeIntervalSince(token.issuedAt)
        guard life >= 1, .seconds(life) <= minimumTTL else { return nil }  // (under a second: expiresOnArrival's)
        return "the identity provider issues tokens for \(client) valid for \(Int(life.rounded())) s, no more than the minimum TTL asked for (\(Int(minimumTTL.components.seconds)) s), so no call can be answered from the cache and each asks the IdP. Ask for a shorter TTL, or lengthen the client's access-token lifespan at the IdP."
    }

    /// The warning for a token that expires on arrival, naming how far off it is.
    static func expiresOnArrival(_ token: AccessToken, _ client: ClientRef) -> String {
        let seconds = token.expiresAt.timeIntervalSince(token.issuedAt)
        let how = seconds < 0
            ? "already expired \(Int64((-seconds).rounded(.up))) s before it was requested (its JWT exp)"
            : "valid for \(seconds < 0.001 ? "less than a millisecond" : "\(Int64((seconds * 1000).rounded(.down))) ms")"
        return "the identity provider issued a token for \(client) that is \(how). The IdP's clock is probably behind this machine's (clock skew), or its token lifespan is too short: check both. The token is printed this once, not cached."
    }

    /// The warning for a cached token served because a fresh one could not be had.
    static func servedStale(_ token: AccessToken, _ client: ClientRef, because problem: String, now: Date) -> String {
        "could not refresh the token for \(client) (\(problem)); serving the cached token, valid \(token.remaining(at: now).components.seconds) s more."
    }

    /// What a token fetch's audit event says: the secret version used and the token's life and
    /// scope. Never the token.
    static func auditDetail(_ token: AccessToken, secretVersion: Int, shape: TokenRequestShape) -> String {
        var detail = "secret version \(secretVersion), valid \(Int64(token.expiresAt.timeIntervalSince(token.issuedAt).rounded(.down))) s"
        if let scope = token.scope, !scope.isEmpty { detail += ", scope \(scope)" }
        if let audience = shape.audience { detail += ", audience \(audience)" }
        return detail
    }
}
