import NIOCore
import NIOHTTP1

/// What one or more request loops measured.
struct Tally: Sendable {
    /// The latency of each counted response, in nanoseconds.
    var latencies: [UInt64] = []
    /// Counted responses with status 200, and with any other status.
    var ok = 0
    var errors = 0
    /// Why a loop stopped early (its connection closed or failed), if one did.
    var failures: [String] = []
    /// Counted responses by their body's `"source"` value ("memory", "cache", "idp"; "none" when
    /// the body has none); only when bodies are kept.
    var sources: [String: Int] = [:]

    var counted: Int { ok + errors }

    mutating func merge(_ other: Tally) {
        latencies += other.latencies
        ok += other.ok
        errors += other.errors
        failures += other.failures
        sources.merge(other.sources, uniquingKeysWith: +)
    }
}

/// Back-to-back keep-alive requests on one connection, each sent as soon as the previous response
/// has ended: no thread hop, no task, between a response and the next request. Lives on the
/// connection's event loop.
final class RequestLoop {
    /// When the loop stops sending.
    enum Stop: Sendable {
        /// After this many requests (warm-up included).
        case afterRequests(Int)
        /// No request is sent after this instant.
        case at(NIODeadline)
    }

    /// Which responses are not counted.
    enum Warmup: Sendable {
        /// The first this many.
        case requests(Int)
        /// Those that end before this instant.
        case until(NIODeadline)
    }

    private let handler: ExchangeHandler
    private let requests: [HTTPRequestHead]
    private var next: Int
    private let stop: Stop
    private let warmup: Warmup
    private let countSources: Bool
    private var sent = 0
    private var received = 0
    private var tally = Tally()
    private let done: EventLoopPromise<Tally>

    private init(handler: ExchangeHandler, requests: [HTTPRequestHead], first: Int, stop: Stop, warmup: Warmup,
                 countSources: Bool, done: EventLoopPromise<Tally>) {
        (self.handler, self.requests, next, self.stop, self.warmup, self.countSources, self.done) =
            (handler, requests, first % requests.count, stop, warmup, countSources, done)
    }

    /// Runs a loop on `connection`: `requests` round-robin from index `first`, until `stop`.
    /// Answers what it counted; a connection that fails ends its loop (noted in `failures`).
    static func run(on connection: Connection, requests: [HTTPRequestHead], first: Int = 0, stop: Stop,
                    warmup: Warmup = .requests(0), countSources: Bool = false) -> EventLoopFuture<Tally> {
        precondition(!requests.isEmpty)
        return connection.eventLoop.flatSubmit {
            let done = connection.eventLoop.makePromise(of: Tally.self)
            do {
                let loop = RequestLoop(handler: try connection.handler(), requests: requests, first: first, stop: stop,
                                       warmup: warmup, countSources: countSources, done: done)
                loop.step()
            } catch {
                done.fail(error)
            }
            return done.futureResult
        }
    }

    private func step() {
        switch stop {
        case .afterRequests(let limit) where sent >= limit: return finish()
        case .at(let end) where NIODeadline.now() >= end: return finish()
        default: break
        }
        let request = requests[next]
        next = next + 1 == requests.count ? 0 : next + 1
        sent += 1
        handler.send(request).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let reply):
                self.record(reply)
                self.step()
            case .failure(let error):
                self.tally.failures.append("\(error)")
                self.finish()
            }
        }
    }

    private func record(_ reply: Reply) {
        received += 1
        switch warmup {
        case .requests(let count) where received <= count: return
        case .until(let instant) where NIODeadline.now() < instant: return
        default: break
        }
        tally.latencies.append(UInt64(max(0, reply.elapsed.nanoseconds)))
        if reply.status == .ok { tally.ok += 1 } else { tally.errors += 1 }
        if countSources {
            tally.sources[Self.source(in: reply.body), default: 0] += 1
        }
    }

    private func finish() {
        done.succeed(tally)
    }

    /// The string value of the first `"source"` member of a JSON body (`"source": "idp"` →
    /// `idp`), without parsing the rest; "none" when there is none.
    static func source(in body: ByteBuffer?) -> String {
        guard let body else { return "none" }
        let bytes = Array(body.readableBytesView)
        let key = Array(#""source""#.utf8)
        guard bytes.count >= key.count else { return "none" }
        var index = 0
        while index + key.count <= bytes.count {
            if bytes[index] == key[0], Array(bytes[index..<index + key.count]) == key { break }
            index += 1
        }
        guard index + key.count <= bytes.count else { return "none" }
        index += key.count
        func skipSpaces() { while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x0A || bytes[index] == 0x0D || bytes[index] == 0x09 { index += 1 } }
        skipSpaces()
        guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { return "none" }
        index += 1
        skipSpaces()
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return "none" }
        index += 1
        guard let end = bytes[index...].firstIndex(of: UInt8(ascii: "\"")) else { return "none" }
        return String(decoding: bytes[index..<end], as: UTF8.self)
    }
}
