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
    /// Through AsyncHTTPClient's event-loop API with a `ResponseAccumulator`: its deadline is
    /// cancelled only when the task completes, after the last body byte (`HTTPClient.execute`:
    /// `task.promise.futureResult.whenComplete { deadlineSchedule.cancel() }`), the accumulator
    /// stops a body over `limit` on the loop, and the caller resumes once, with the whole answer.
    /// (The async `execute(_:deadline:)` stops timing once the head arrives, so the body needed a
    /// task group racing a sleep: two child tasks, a timer and a hop per body chunk per request,
    /// a tenth of a bulk rotation's context switches.) A cancelled caller cancels the request;
    /// AsyncHTTPClient closes the connection of a request cancelled while running.
    package func exchange(_ request: HTTPRequest, until end: ContinuousClock.Instant, upTo limit: Int) async -> Result<HTTPReply, TransportFailure> {
        let remaining = end - ContinuousClock.now
        guard remaining > .zero else { return .failure(.timedOut) }
        do {
            let outgoing = try Self.clientRequest(request)
            let task = client.execute(request: outgoing, delegate: ResponseAccumulator(request: outgoing, maxBodySize: limit),
                                      deadline: .now() + Self.timeAmount(remaining))
            let response = try await withTaskCancellationHandler {
                try await task.futureResult.get()
            } onCancel: {
                task.cancel()
            }
            let headers = response.headers.map { HTTPHeader($0.name, $0.value) }
            return .success(HTTPReply(status: Int(response.status.code), headers: headers, body: response.body.map { Array(buffer: $0) } ?? []))
        } catch {
            return .failure(TransportFailure(error, limit: limit))
        }
    }

    private static func clientRequest(_ request: HTTPRequest) throws -> HTTPClient.Request {
        var headers = HTTPHeaders()
        for header in request.headers { headers.add(name: header.name, value: header.value) }
        let body: HTTPClient.Body? = switch request.body?.storage {
        case nil: nil
        case .bytes(let bytes): .bytes(bytes)
        // Copied into a ByteBuffer only when AsyncHTTPClient writes the request, from a collection
        // without contiguous storage: see `BorrowedBytes`.
        case .borrowed(let byte): .bytes(BorrowedBytes(count: request.body?.count ?? 0, byte: byte))
        }
        return try HTTPClient.Request(url: request.url, method: HTTPMethod(rawValue: request.method.rawValue), headers: headers,
                                      body: body, tlsConfiguration: tls(trusting: request.caFile))
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
/// `HTTPClient.Body.bytes` builds its `ByteBuffer` when the request is written, not when it is
/// made; and this collection is deliberately without `withContiguousStorageIfAvailable`, so
/// nothing can take a contiguous copy of the caller's zeroed buffer earlier.
struct BorrowedBytes: RandomAccessCollection, Sendable {
    let count: Int
    let byte: @Sendable (Int) -> UInt8
    var startIndex: Int { 0 }
    var endIndex: Int { count }
    subscript(position: Int) -> UInt8 { byte(position) }
}
