internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOSSL
import Synchronization

/// Sends the library's HTTP requests — token requests, discovery, JWKS, the Keycloak admin API —
/// through one `HTTPClient`, made on the first request: a cached token never gets here, so it
/// never starts an event loop.
///
/// The client follows no redirect (following one would send a client's credentials wherever a
/// token endpoint points), speaks HTTP/1.1 only, leaves bodies compressed as sent (none of these
/// answers is worth a decompressor's risk), and gives up connecting after 5 s. Connection
/// attempts are not retried inside the pool: a refused connection comes back at once, so the
/// caller's retry policy (`send`) can retry it with backoff, and a discovered token endpoint that
/// stopped answering is noticed without waiting out the connect timeout.
package final class HTTPTransport: Sendable {
    /// The process's transport: what every caller uses unless given another.
    package static let shared = HTTPTransport()

    private let state = Mutex<HTTPClient?>(nil)

    package init() {}

    deinit {
        // AsyncHTTPClient's debug builds trap when a running client is released (`HTTPClient`'s
        // deinit), so a transport that goes away shuts its client down, without waiting. The
        // shutdown keeps the client alive until it is done.
        if let client = state.withLock({ $0 }) { client.shutdown { _ in } }
    }

    /// Whether an `HTTPClient` exists now (made by a request, not yet shut down).
    package var isRunning: Bool { state.withLock { $0 != nil } }

    /// Closes every connection and releases the client. Requests still in flight fail (with
    /// `.other`); the next request makes a new client, so shutting down the shared transport
    /// cannot leave the process without one.
    package func shutdown() async {
        guard let client = state.withLock({ client in
            defer { client = nil }
            return client
        }) else { return }
        try? await client.shutdown()
    }

    private var client: HTTPClient {
        state.withLock { client in
            if let client { return client }
            var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
            configuration.connectionPool.retryConnectionEstablishment = false
            configuration.httpVersion = .http1Only
            configuration.decompression = .disabled
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
            client = made
            return made
        }
    }

    /// Sends `request` once and reads its whole answer — connection, TLS, head *and body* — before
    /// `end`, so a server that sends its head and then drips or stalls cannot outlast the deadline.
    /// A redirect is an answer like any other (3xx), never followed.
    ///
    /// AsyncHTTPClient 1.37's `execute(_:deadline:)` covers only the head: its deadline task is
    /// cancelled as soon as the head arrives (`executeCancellable`'s `defer`), and the body
    /// stream has no timeout at all. So the read races a sleep until `end`; whichever ends first
    /// wins and the other is cancelled. Cancelling the read fails the transaction
    /// (`NIOThrowingAsyncSequenceProducer` → `Transaction.didTerminate`), and AsyncHTTPClient
    /// closes the connection of a request cancelled while running (`HTTPRequestStateMachine
    /// .requestCancelled` → `.close`): nothing is left hanging in the pool.
    package func exchange(_ request: HTTPRequest, until end: ContinuousClock.Instant, upTo limit: Int) async -> Result<HTTPReply, TransportFailure> {
        let remaining = end - ContinuousClock.now
        guard remaining > .zero else { return .failure(.timedOut) }
        let outgoing = Self.clientRequest(request)
        let client = client
        do {
            return .success(try await withThrowingTaskGroup(of: HTTPReply.self) { group in
                group.addTask {
                    let response = try await client.execute(outgoing, deadline: .now() + Self.timeAmount(remaining))
                    let body = try await response.body.collect(upTo: limit)
                    let headers = response.headers.map { HTTPHeader($0.name, $0.value) }
                    return HTTPReply(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
                }
                group.addTask {
                    try await Task.sleep(until: end, clock: .continuous)
                    throw HTTPClientError.deadlineExceeded
                }
                // The group waits for the loser after cancelling it; both stop promptly when cancelled.
                defer { group.cancelAll() }
                guard let reply = try await group.next() else { throw HTTPClientError.deadlineExceeded }
                return reply
            })
        } catch {
            return .failure(TransportFailure(error, limit: limit))
        }
    }

    private static func clientRequest(_ request: HTTPRequest) -> HTTPClientRequest {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method.rawValue)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        switch request.body?.storage {
        case nil:
            break
        case .bytes(let bytes):
            outgoing.body = .bytes(ByteBuffer(bytes: bytes))
        case .borrowed(let byte):
            // Copied into a ByteBuffer only when AsyncHTTPClient writes the request (the
            // `Collection` overload's `allocator.buffer(bytes:)`), from a collection without
            // contiguous storage: see `BorrowedBytes`.
            let count = request.body?.count ?? 0
            outgoing.body = .bytes(BorrowedBytes(count: count, byte: byte), length: .known(Int64(count)))
        }
        outgoing.tlsConfiguration = tls(trusting: request.caFile)
        return outgoing
    }

    /// The realm's CA file as the only trust root, or the system's roots (`nil`); always verified.
    private static func tls(trusting caFile: String?) -> TLSConfiguration? {
        guard let caFile else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        return tls
    }

    /// `duration` in NIO's nanoseconds, saturating rather than trapping past Int64's ~292 years.
    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, overflow) = duration.components.seconds.multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .nanoseconds(duration < .zero ? .min : .max) }
        let (total, overflowed) = seconds.addingReportingOverflow(duration.components.attoseconds / 1_000_000_000)
        return .nanoseconds(overflowed ? .max : total)
    }
}

/// A borrowed body as AsyncHTTPClient reads it: byte by byte from the caller's buffer.
///
/// Deliberately without `withContiguousStorageIfAvailable`: AsyncHTTPClient's `Sequence`
/// overload of `.bytes` copies contiguous storage into a `ByteBuffer` at once, when the request
/// is built (1.37, `HTTPClientRequest.Body._bytes`'s fast path), and that copy would outlive the
/// caller's zeroed buffer until the request is released. This one is copied only when written.
struct BorrowedBytes: RandomAccessCollection, Sendable {
    let count: Int
    let byte: @Sendable (Int) -> UInt8
    var startIndex: Int { 0 }
    var endIndex: Int { count }
    subscript(position: Int) -> UInt8 { byte(position) }
}
