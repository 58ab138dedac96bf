import Synchronization

/// A token bucket per user: `perSecond` requests a second, bursts of twice that.
final class RateLimiter: Sendable {
    private let perSecond: Double
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    init(perSecond: Double) { self.perSecond = max(perSecond, 0.001) }

    /// `nil` when `who` may go on; else the whole seconds until it may.
    func admit(_ who: String) -> Int? {
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            let burst = perSecond * 2
            var (tokens, at) = buckets[who] ?? (burst, now)
            let elapsed = now - at
            tokens = min(burst, tokens + perSecond * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            guard tokens >= 1 else {
                buckets[who] = (tokens, now)
                return max(1, Int(((1 - tokens) / perSecond).rounded(.up)))
            }
            buckets[who] = (tokens - 1, now)
            return nil
        }
    }
}
