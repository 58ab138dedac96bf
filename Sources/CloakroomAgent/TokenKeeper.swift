import Cloakroom
import Synchronization
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Keeps every token a consumer asked for fresh, so that no consumer waits for the IdP: each is
/// renewed in the background at 70–78 % of its life (jittered, so that tokens fetched together
/// are not renewed together, and before the 80 % at which `cloak token` would fetch one itself).
/// A token nobody asked for in three of its lifetimes is left to expire.
///
/// A renewal takes the vault's cross-process lock and reads the cache again under it
/// (`TokenBroker.renew`), so the agent, `cloak` processes and library users of the same vault
/// still send one request per expiry between them.
final class TokenKeeper: Sendable {
    /// What a consumer asked for, in the broker's memory key's words.
    struct Request: Hashable, Sendable {
        var client: String
        var scopes: [String]
        var audience: String?
    }

    private struct Kept {
        var lastAsked: ContinuousClock.Instant
        var task: Task<Void, Never>
        /// Sinks that hold this token: while any does, it is renewed whether or not anyone asks.
        var pins = 0
    }

    private let broker: TokenBroker
    private let kept = Mutex<[Request: Kept]>([:])
    /// Renewals that reached the IdP, and those that failed: for the log and `/v1/health`.
    let renewals = Atomic<Int>(0)
    let failures = Atomic<Int>(0)

    /// A keeper that renews through `broker` and tells `renewed` each token a renewal brings.
    init(broker: TokenBroker, renewed: @escaping @Sendable (Request, Result<TokenBroker.Grant, any Error>) -> Void) {
        self.broker = broker
        self.renewed = renewed
    }

    /// Told how each renewal went (a new token rewrites the sinks that hold it).
    private let renewed: @Sendable (Request, Result<TokenBroker.Grant, any Error>) -> Void

    /// Notes that `request` was asked for and answered with `token`; starts keeping it fresh.
    /// `pin`: a sink holds it, and it is renewed until `unpin`, asked for or not.
    func asked(_ request: Request, answered token: AccessToken, pin: Bool = false) {
        kept.withLock { kept in
            if kept[request] != nil {
                kept[request]!.lastAsked = .now
                if pin { kept[request]!.pins += 1 }
                return
            }
            let task = Task { [weak self] in
                guard let self else { return }
                await self.keep(request, starting: token)
            }
            kept[request] = Kept(lastAsked: .now, task: task, pins: pin ? 1 : 0)
        }
    }

    /// A sink no longer holds `request`'s token: it is kept while consumers ask for it.
    func unpin(_ request: Request) {
        kept.withLock { kept in
            if let pins = kept[request]?.pins, pins > 0 { kept[request]!.pins = pins - 1 }
        }
    }

    /// How many tokens are being kept fresh.
    var count: Int { kept.withLock { $0.count } }

    /// Stops every renewal (the agent stopping).
    func stop() {
        let tasks = kept.withLock { kept in
            defer { kept.removeAll() }
            return kept.values.map(\.task)
        }
        for task in tasks { task.cancel() }
    }

    private func keep(_ request: Request, starting token: AccessToken) async {
        var held = token
        var failuresInARow = 0
        while !Task.isCancelled {
            let life = max(1, held.expiresAt.timeIntervalSince(held.issuedAt))
            let due = held.issuedAt.addingTimeInterval(life * Double.random(in: 0.70...0.78))
            var wait = due.timeIntervalSinceNow
            if failuresInARow > 0 {
                // After a failure: again soon, backing off, but within the token's life.
                wait = min(Double(1 << min(failuresInARow, 6)), max(1, held.expiresAt.timeIntervalSinceNow / 4))
            }
            if wait > 0 { try? await Task.sleep(for: .milliseconds(Int64(wait * 1000))) }
            if Task.isCancelled { return }
            let (idle, pinned) = kept.withLock { kept in
                (kept[request].map { ContinuousClock.now - $0.lastAsked } ?? .seconds(Int64.max / 2), (kept[request]?.pins ?? 0) > 0)
            }
            guard pinned || idle < .milliseconds(Int64(life * 3000)) else {
                _ = kept.withLock { $0.removeValue(forKey: request) }
                return
            }
            do {
                let grant = try await broker.renew(held, for: request.client, scopes: request.scopes, audience: request.audience, minimumTTL: .zero)
                if grant.source == .idp { renewals.add(1, ordering: .relaxed) }
                held = grant.token
                renewed(request, .success(grant))
                failuresInARow = 0
            } catch {
                failures.add(1, ordering: .relaxed)
                renewed(request, .failure(error))
                failuresInARow += 1
                if held.expiresAt.timeIntervalSinceNow <= 0, !kept.withLock({ ($0[request]?.pins ?? 0) > 0 }) {
                    // Expired while the IdP was away: the next consumer's request fetches anew.
                    _ = kept.withLock { $0.removeValue(forKey: request) }
                    return
                }
            }
        }
    }
}
