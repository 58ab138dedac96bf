import Cloakroom
internal import CoreMetrics
internal import Prometheus
import Synchronization
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The agent's metrics, made through swift-metrics' API and read in Prometheus' text format
/// (`GET /metrics`). Counters and the histogram are kept from the start; the per-client gauges
/// (secret age, next rotation due) are read from the vault at each scrape, so they are never stale.
final class AgentMetrics: Sendable {
    private let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory
    private let counters = Mutex<[String: CoreMetrics.Counter]>([:])
    private let idpLatency: CoreMetrics.Timer
    /// Made once: counting a token served is on every request's path.
    private let servedBySource: [TokenBroker.Source: CoreMetrics.Counter]

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [.milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
                                                   .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10)]
        self.factory = factory
        idpLatency = CoreMetrics.Timer(label: "cloak_agent_idp_fetch_duration_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        servedBySource = Dictionary(uniqueKeysWithValues: [TokenBroker.Source.memory, .cache, .idp].map { source in
            (source, CoreMetrics.Counter(label: "cloak_agent_token_requests_total", dimensions: [("source", source.rawValue)], factory: factory))
        })
    }

    /// `label{dimensions}` incremented, the counter made once.
    func count(_ label: String, _ dimensions: [(String, String)] = []) {
        let key = label + dimensions.map { "\u{0}\($0.0)=\($0.1)" }.joined()
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(label: label, dimensions: dimensions, factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// A token request answered, by where the token came from (`memory`, `cache`, `idp`).
    func served(_ source: TokenBroker.Source) { servedBySource[source]?.increment() }

    /// How long a token fetch that went to the IdP took (the lock and the exchange).
    func idpFetch(took duration: Duration) { idpLatency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000) }

    /// A request answered with an error, by its code.
    func failed(_ code: String) { count("cloak_agent_errors_total", [("code", code)]) }

    /// A background renewal, by outcome (`idp`, `cache`: another process had fetched; `failed`).
    func renewal(_ outcome: String) { count("cloak_agent_renewals_total", [("outcome", outcome)]) }

    /// A rotation's end, by outcome (`rotated`, `finished`, `failed`, …).
    func rotation(_ outcome: String) { count("cloak_agent_rotations_total", [("outcome", outcome)]) }

    /// The text format: the kept metrics, then each client's secret age and when its next
    /// scheduled rotation is due (negative: overdue), from `statuses`.
    func exposition(_ statuses: [RotationStatus], now: Date) -> [UInt8] {
        var out = registry.emitToBuffer()
        func line(_ text: String) { out.append(contentsOf: text.utf8); out.append(10) }
        line("# HELP cloak_client_secret_age_seconds Seconds since the client's current secret was stored or rotated.")
        line("# TYPE cloak_client_secret_age_seconds gauge")
        for status in statuses {
            guard let since = status.secretUpdatedAt else { continue }
            line("cloak_client_secret_age_seconds{realm=\"\(status.client.realm)\",client=\"\(status.client.name)\"} \(Int64(now.timeIntervalSince(since)))")
        }
        line("# HELP cloak_client_rotation_due_seconds Seconds until the client's next scheduled rotation (negative: overdue).")
        line("# TYPE cloak_client_rotation_due_seconds gauge")
        for status in statuses {
            guard let since = status.secretUpdatedAt, let every = status.rotateEvery else { continue }
            let due = since.addingTimeInterval(Double(every.components.seconds)).timeIntervalSince(now)
            line("cloak_client_rotation_due_seconds{realm=\"\(status.client.realm)\",client=\"\(status.client.name)\"} \(Int64(due))")
        }
        return out
    }
}
