import CloakroomHTTP

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
        let policy = RetryPolicy(deadline: deadline, bodyLimit: TokenResponse.maximumBodySize, attempts: request.retrying ? .max : 1, sleep: sleep)
        return try await transport.send(policy, request: { () throws(TokenError) -> HTTPRequest in
            HTTPRequest(.GET, request.url, headers: [HTTPHeader("Accept", "application/json")], caFile: request.caFile)
        }, judge: { outcome throws(TokenError) -> Verdict<[String: JSONValue]> in
            let reply: HTTPReply
            switch outcome {
            case .failure(.tooLarge):
                throw .malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) is larger than \(TokenResponse.maximumBodySize / 1024) KiB; is that URL right?")
            case .failure(let failure):
                if let refused = failure.tlsRefusal(url: request.url, realm: request.realm) { throw refused }
                return .retry(problem: "\(failure)")
            case .success(let answer):
                reply = answer
            }
            switch reply.status {
            case 200:
                guard case .object(let object)? = JSONReader.read(reply.body) else {
                    throw .malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) is not a JSON object; is that URL right?")
                }
                return .success(object)
            case 429, 500...599:
                return .retry(problem: "HTTP \(reply.status)")
            default:
                throw .malformedResponse("\(request.what) of realm \(request.realm) at \(request.url) answered HTTP \(reply.status); is that URL right?")
            }
        }, giveUp: { stop in
            if stop.cancellation != nil { return .unavailable("cancelled while waiting to retry: \(stop.lastProblem)") }
            return .unavailable("could not fetch \(request.what) of realm \(request.realm) from \(Self.host(request.url)) (\(stop.attempts) attempt\(stop.attempts == 1 ? "" : "s")): \(stop.lastProblem)")
        })
    }
}
