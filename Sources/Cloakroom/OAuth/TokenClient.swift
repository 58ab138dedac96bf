import CloakroomCrypto
import CloakroomHTTP

#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Everything a client-credentials request needs. Built from a client's *current* secret, opened
/// from the vault for the realm it was sealed for — or, for rotation's verify step only, from a
/// `PendingSecret`, marked so that its token is never cached.
struct TokenRequest: Sendable {
    /// Empty while an issuer realm's endpoint is still to be discovered.
    var tokenURL: String
    /// Set when the token URL comes from this issuer's discovery document.
    var issuer: String?
    var caFile: String?
    var allowsInsecureHTTP: Bool
    var clientID: String
    var authMethod: AuthMethod
    var secret: ClientSecret
    var shape: TokenRequestShape
    /// For messages: `realm/name`.
    var ref: ClientRef
    /// What the token is for: only `.use` tokens may be cached or handed out.
    var purpose: Purpose = .use

    enum Purpose: Equatable {
        /// The current secret, for a token someone will use.
        case use
        /// A rotation testing whether the IdP accepts secret version `version`.
        case verification(version: Int)
    }
}

/// Asks token endpoints for tokens with the client-credentials grant (RFC 6749 §4.4), retrying
/// what may pass (5xx, 429, connection failures) with jittered backoff within a deadline, and
/// never what will not (credential errors).
struct TokenClient: Sendable {
    /// How long one `token(for:)` may take, retries included.
    var deadline: Duration = .seconds(10)
    /// Pauses between attempts; tests replace it to run without waiting.
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    var clock: @Sendable () -> Date = { Date() }
    /// The process's one HTTP client unless the broker was given another; it starts no event
    /// loop until a request is sent.
    var transport: HTTPTransport = .shared

    /// - Parameter rediscover: for a token endpoint learned from discovery: asked once, when the
    ///   endpoint refuses connections or answers 404, for the endpoint the issuer names now. A
    ///   different answer is tried at once; the same one (or `nil`) changes nothing.
    func token(for request: TokenRequest, rediscover: (@Sendable () async -> String?)? = nil) async throws(TokenError) -> AccessToken {
        var request = request
        var rediscover = rediscover
        var sentAt = clock()
        /// Whether the issuer now names another token endpoint (asked once per call).
        func moved() async -> Bool {
            guard let ask = rediscover else { return false }
            rediscover = nil
            guard let moved = await ask(), moved != request.tokenURL else { return false }
            request.tokenURL = moved
            return true
        }
        let policy = RetryPolicy(deadline: deadline, bodyLimit: TokenResponse.maximumBodySize, sleep: sleep)
        return try await transport.send(policy, request: { () throws(TokenError) -> HTTPRequest in
            sentAt = clock()
            return request.http()
        }, judge: { outcome throws(TokenError) -> Verdict<AccessToken> in
            let reply: HTTPReply
            switch outcome {
            case .failure(.tooLarge):
                throw .malformedResponse("the token endpoint of \(request.ref.realm) sent a response larger than \(TokenResponse.maximumBodySize / 1024) KiB; is \(Self.host(request.tokenURL)) an OAuth token endpoint?")
            case .failure(let failure):
                if let refused = failure.tlsRefusal(url: request.tokenURL, realm: request.ref.realm) { throw refused }
                if case .connectionRefused = failure, await moved() { return .retryNow }
                return .retry(problem: "\(failure)")
            case .success(let answer):
                reply = answer
            }
            switch reply.status {
            case 200:
                do {
                    return .success(try TokenResponse.token(from: reply.body, sentAt: sentAt))
                } catch {
                    throw .malformedResponse("\(error) (client \(request.ref), \(request.tokenURL)); is that the realm's OAuth token endpoint?")
                }
            case 400, 401, 403:
                let error = TokenResponse.error(from: reply.body)
                throw .rejected(client: request.ref, status: reply.status, error: error.code, description: error.description)
            case 429, 500...599:
                return .retry(problem: "HTTP \(reply.status)")
            case 404:
                // The endpoint is not there any more, which for a discovered one is worth asking about.
                if await moved() { return .retryNow }
                throw .malformedResponse("the token URL of realm \(request.ref.realm) answered HTTP 404; is \(request.tokenURL) an OAuth token endpoint?")
            default:
                throw .malformedResponse("the token URL of realm \(request.ref.realm) answered HTTP \(reply.status); is \(request.tokenURL) an OAuth token endpoint?")
            }
        }, giveUp: { stop in
            if stop.cancellation != nil { return .unavailable("cancelled while waiting to retry: \(stop.lastProblem)") }
            return .unavailable("could not get a token for \(request.ref) from \(Self.host(request.tokenURL)) within \(deadline) (\(stop.attempts) attempt\(stop.attempts == 1 ? "" : "s")): \(stop.lastProblem)")
        })
    }

    /// Where `url` points, as `host:port` (the scheme's port when none is written): what a
    /// message names, never a path or query that might carry something private.
    static func host(_ url: String) -> String {
        guard let components = URLComponents(string: url), let host = components.host else { return url }
        let port = components.port ?? (components.scheme == "http" ? 80 : 443)
        return (host.contains(":") ? "[\(host)]" : host) + ":\(port)"
    }
}

extension TokenRequest {
    /// The request on the wire. The secret-bearing parts are made in sodium memory and stay there
    /// until written (see TokenRequest+Wire.swift for the copies the HTTP stack makes that we
    /// cannot zero).
    func http() -> HTTPRequest {
        var headers = [HTTPHeader("Content-Type", "application/x-www-form-urlencoded"), HTTPHeader("Accept", "application/json")]
        if authMethod == .clientSecretBasic {
            // Header values are Strings: this one copy of the credentials is beyond our reach.
            headers.append(HTTPHeader("Authorization", secureBasicCredentials().withUnsafeBytes { String(decoding: $0, as: UTF8.self) }))
        }
        // Only client_secret_post puts the secret in the body; otherwise it is plain form data.
        let body: HTTPBody = authMethod == .clientSecretPost ? .borrowing(SecureBody(bytes: secureBody())) : .bytes(openBody())
        return HTTPRequest(.POST, tokenURL, headers: headers, body: body, caFile: caFile)
    }
}
