import NIOCore
import NIOHTTP1
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// agent-load: an HTTP/1.1 load client for a server on a Unix socket (`cloak agent`, or nginx as
/// the baseline), for scripts/bench-agent.sh. Every request is a GET with no body, on keep-alive
/// connections, one request in flight per connection. Each mode prints one line of `key=value`
/// fields (latencies in microseconds) and exits 1 when any response was not 200 or a connection
/// failed.
///
///     agent-load latency --socket PATH --path PATH [--requests N] [--warmup N]
///         N sequential requests on one connection after a warm-up; p50, p90, p99, max
///     agent-load throughput --socket PATH --path PATH [--connections C] [--duration SEC] [--warmup-seconds SEC]
///         C connections, each sending back to back (paths round-robin, each connection starting
///         at its own index) for the duration after a warm-up; requests per second
///     agent-load sweep --socket PATH --paths-file FILE [--connections C] [--rounds R] [--interval SEC]
///         every path once per round (shared among C connections), rounds starting INTERVAL
///         apart; counts responses by their body's "source" (as --count-sources)
///
/// Common options: --path may repeat, --paths-file FILE adds one path per line; --threads T (event
/// loop threads, default 1); --count-sources keeps bodies and counts them by `"source"` value.
@main
struct AgentLoad {
    static func main() async {
        let options: Options
        do {
            options = try Options(parsing: Array(CommandLine.arguments.dropFirst()))
        } catch {
            printError("agent-load: \(error)\n\n\(Options.usage)")
            exit(2)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let clean: Bool
        do {
            switch options.mode {
            case .latency: clean = try await latency(options, group: group)
            case .throughput: clean = try await throughput(options, group: group)
            case .sweep: clean = try await sweep(options, group: group)
            }
        } catch {
            printError("agent-load: \(error)")
            exit(1)
        }
        try? await group.shutdownGracefully()
        exit(clean ? 0 : 1)
    }

    /// Sequential requests on one connection.
    static func latency(_ options: Options, group: MultiThreadedEventLoopGroup) async throws -> Bool {
        let connection = try await Connection.open(socket: options.socket, group: group, keepBodies: options.countSources)
        let tally = try await RequestLoop.run(
            on: connection, requests: options.requests, stop: .afterRequests(options.warmup + options.count),
            warmup: .requests(options.warmup), countSources: options.countSources
        ).get()
        await connection.close()
        return report("latency", tally, options: options, fields: [("requests", "\(tally.counted)")])
    }

    /// Back-to-back requests on many connections for a while.
    static func throughput(_ options: Options, group: MultiThreadedEventLoopGroup) async throws -> Bool {
        var connections: [Connection] = []
        for _ in 0..<options.connections {
            connections.append(try await Connection.open(socket: options.socket, group: group, keepBodies: options.countSources))
        }
        let measureFrom = NIODeadline.now() + options.warmupSeconds
        let end = measureFrom + options.duration
        let loops = connections.enumerated().map { index, connection in
            RequestLoop.run(on: connection, requests: options.requests, first: index, stop: .at(end),
                            warmup: .until(measureFrom), countSources: options.countSources)
        }
        var tally = Tally()
        for loop in loops { tally.merge(try await loop.get()) }
        for connection in connections { await connection.close() }
        let seconds = Double(options.duration.nanoseconds) / 1e9
        return report("throughput", tally, options: options, fields: [
            ("connections", "\(options.connections)"), ("seconds", fixed(seconds, 2)), ("requests", "\(tally.counted)"),
            ("rps", fixed(Double(tally.counted) / seconds, 0)),
        ])
    }

    /// Every path once per round, rounds `interval` apart.
    static func sweep(_ options: Options, group: MultiThreadedEventLoopGroup) async throws -> Bool {
        let count = min(options.connections, options.requests.count)
        var connections: [Connection] = []
        for _ in 0..<count {
            connections.append(try await Connection.open(socket: options.socket, group: group, keepBodies: true))
        }
        // Connection i asks for paths i, i + count, i + 2 × count, …
        let shares = (0..<count).map { first in stride(from: first, to: options.requests.count, by: count).map { options.requests[$0] } }
        let clock = ContinuousClock()
        let start = clock.now
        var tally = Tally()
        var late = 0
        for round in 0..<options.rounds {
            if round > 0 {
                let due = start + options.interval * round
                if clock.now < due { try await Task.sleep(until: due, clock: clock) } else { late += 1 }
            }
            let loops = zip(connections, shares).map { connection, share in
                RequestLoop.run(on: connection, requests: share, stop: .afterRequests(share.count), countSources: true)
            }
            for loop in loops { tally.merge(try await loop.get()) }
            guard tally.failures.isEmpty else { break }
        }
        for connection in connections { await connection.close() }
        let elapsed = clock.now - start
        return report("sweep", tally, options: options, fields: [
            ("rounds", "\(options.rounds)"), ("paths", "\(options.requests.count)"), ("connections", "\(count)"),
            ("requests", "\(tally.counted)"), ("seconds", fixed(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18, 2)),
            ("late_rounds", "\(late)"),
        ])
    }

    /// Prints `mode` and `fields`, then errors, latency percentiles and sources; answers whether
    /// every response was a 200 and no connection failed.
    static func report(_ mode: String, _ tally: Tally, options: Options, fields: [(String, String)]) -> Bool {
        var line = [mode] + fields.map { "\($0)=\($1)" }
        line.append("errors=\(tally.errors)")
        let sorted = tally.latencies.sorted()
        for (name, quantile) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)] {
            line.append("\(name)_us=\(percentile(sorted, quantile).map { fixed(Double($0) / 1000, 1) } ?? "-")")
        }
        if options.countSources {
            line.append("source_idp=\(tally.sources["idp", default: 0])")
            line.append("sources=" + tally.sources.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))
        }
        print(line.joined(separator: " "))
        for failure in tally.failures.prefix(3) { printError("agent-load: a connection failed: \(failure)") }
        if tally.errors > 0 { printError("agent-load: \(tally.errors) responses were not 200") }
        return tally.errors == 0 && tally.failures.isEmpty
    }
}

/// The nearest-rank percentile of ascending `sorted` (`quantile` 1 is the maximum).
func percentile(_ sorted: [UInt64], _ quantile: Double) -> UInt64? {
    guard !sorted.isEmpty else { return nil }
    let rank = Int((quantile * Double(sorted.count)).rounded(.up))
    return sorted[min(max(rank, 1), sorted.count) - 1]
}

/// `value` with `digits` decimals (0 to 3), without Foundation.
func fixed(_ value: Double, _ digits: Int) -> String {
    let scale = [1.0, 10.0, 100.0, 1000.0][min(max(digits, 0), 3)]
    let scaled = Int((value * scale).rounded())
    guard digits > 0 else { return "\(scaled)" }
    let sign = scaled < 0 ? "-" : ""
    let whole = abs(scaled) / Int(scale), fraction = abs(scaled) % Int(scale)
    let digitsText = String(fraction)
    return "\(sign)\(whole)." + String(repeating: "0", count: digits - digitsText.count) + digitsText
}

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { bytes in _ = write(2, bytes.baseAddress, bytes.count) }
}
