internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Where a realm's public documents (discovery, JWKS) are fetched from, and under which policy.
struct DocumentRequest: Sendable {
    var url: String
    /// For messages: "the discovery document", "the JWKS".
    var what: String
    var realm: Name
    var caFile: String?
    /// Retry 5xx, 429 and connection failures until the deadline; otherwise one attempt.
    var retrying = true
}

extension TokenClient {
    /// The JSON object at `request.url`, fetched as tokens are: the realm's CA file, TLS always
    /// verified, no redirects, at most `TokenResponse.maximumBodySize` bytes, within the deadline.
    /// No credentials are sent; the URL was checked against the realm's http policy when stored.
    /// - Throws: `TokenError.unavailable` (unreachable, 5xx, 429, timeouts), `.refused` (TLS),
    ///   `.malformedResponse` (any other status, not a JSON object, too large).
    func document(_ request: DocumentRequest) async throws(TokenError) -> [String: JSONValue] {
        let end = ContinuousClock.now + deadline
        var attempt = 0
        while true {
            attempt += 1
            let problem: String
            var retryAfter: Duration?
            switch await fetch(request, until: end) {
            case .success(let object): return object
            case .failure(.retryable(let reason, let after)):
                problem = reason
                retryAfter = after
            case .failure(.final(let error)):
                throw error
            }
            let backoff = Duration.milliseconds(Int64(Double(200 << min(attempt - 1, 5)) * Double.random(in: 0.5...1.0)))
            let wait = max(backoff, retryAfter ?? .zero)
            guard request.retrying, ContinuousClock.now + wait < end else {
                throw .unavailable("could not fetch \(request.what) of realm \(request.realm) from \(Self.host(request.url)) (\(attempt) attempt\(attempt == 1 ? "" : "s")): \(problem)")
            }
            do { try await sleep(wait) } catch { throw .unavailable("cancelled while waiting to retry: \(problem)") }
        }
    }

    private enum Failure: Error {
        case retryable(String, Duration?)
        case final(TokenError)
    }

    private func fetch(_ request: DocumentRequest, until end: ContinuousClock.Instant) async -> Result<[String: JSONValue], Failure> {
        var http = HTTPClientRequest(url: request.url)
        http.method = .GET
        http.headers.add(name: "Accept", value: "application/json")
        http.tlsConfiguration = Self.tls(trusting: request.caFile)
        let reply: HTTPReply
        do {
            reply = try await Self.exchange(http, until: end, upTo: TokenResponse.maximumBodySize)
        } catch is NIOTooManyBytesError {
            return .failure(.final(.malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) is larger than \(TokenResponse.maximumBodySize / 1024) KiB; is that URL right?")))
        } catch {
            if let refused = Self.tlsFailure(error, url: request.url, realm: request.realm) { return .failure(.final(refused)) }
            return .failure(.retryable("\(Self.describe(error)) talking to \(Self.host(request.url))", nil))
        }
        let bytes = reply.body
        let status = reply.status
        switch status {
        case 200:
            guard case .object(let object)? = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else {
                return .failure(.final(.malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) is not a JSON object; is that URL right?")))
            }
            return .success(object)
        case 429, 500...599:
            return .failure(.retryable("HTTP \(status)", reply.headers.first(name: "Retry-After").flatMap(Self.retryAfter)))
        default:
            return .failure(.final(.malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) answered HTTP \(status); is that URL right?")))
        }
    }
}
