internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1

/// One whole answer to an HTTP request: status, headers and every byte of the body.
struct HTTPReply: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
}

extension TokenClient {
    /// Sends `request` and reads its whole answer — connection, TLS, head *and body* — before
    /// `end`: the one way every request cloak makes (tokens, discovery, JWKS, the admin API) goes
    /// out, so a server that sends its head and then drips or stalls cannot outlast the deadline.
    ///
    /// AsyncHTTPClient 1.37's `execute(_:deadline:)` covers only the head: its deadline task is
    /// cancelled as soon as the head arrives (`executeCancellable`'s `defer`), and the body
    /// stream has no timeout at all. So the read races a sleep until `end`; whichever ends first
    /// wins and the other is cancelled. Cancelling the read fails the transaction
    /// (`NIOThrowingAsyncSequenceProducer` → `Transaction.didTerminate`), and AsyncHTTPClient
    /// closes the connection of a request cancelled while running (`HTTPRequestStateMachine
    /// .requestCancelled` → `.close`): nothing is left hanging in the pool.
    ///
    /// - Throws: `HTTPClientError.deadlineExceeded` when `end` passes first;
    ///   `NIOTooManyBytesError` for a body over `limit`; otherwise what AsyncHTTPClient throws.
    static func exchange(_ request: HTTPClientRequest, until end: ContinuousClock.Instant, upTo limit: Int) async throws -> HTTPReply {
        let remaining = end - ContinuousClock.now
        guard remaining > .zero else { throw HTTPClientError.deadlineExceeded }
        return try await withThrowingTaskGroup(of: HTTPReply.self) { group in
            group.addTask {
                let response = try await http.execute(request, deadline: .now() + timeAmount(remaining))
                let body = try await response.body.collect(upTo: limit)
                return HTTPReply(status: Int(response.status.code), headers: response.headers, body: Array(buffer: body))
            }
            group.addTask {
                try await Task.sleep(until: end, clock: .continuous)
                throw HTTPClientError.deadlineExceeded
            }
            // The group waits for the loser after cancelling it; both stop promptly when cancelled.
            defer { group.cancelAll() }
            guard let reply = try await group.next() else { throw HTTPClientError.deadlineExceeded }
            return reply
        }
    }
}
