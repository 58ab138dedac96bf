import CloakroomCrypto
internal import AsyncHTTPClient
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import NIOSSL

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

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

    /// One client for the process, made on first use: a cache hit never gets here, so it never
    /// starts an event loop. Redirects are refused: following one would send the client's
    /// credentials to wherever a token endpoint points.
    ///
    /// Connection attempts are not retried inside the pool: a refused connection comes back at
    /// once, so the loop below can retry it with backoff, and a discovered token endpoint that
    /// stopped answering is noticed without waiting out the connect timeout.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// - Parameter rediscover: for a token endpoint learned from discovery: asked once, when the
    ///   endpoint refuses connections or answers 404, for the endpoint the issuer names now. A
    ///   different answer is tried at once; the same one (or `nil`) changes nothing.
    func token(for request: TokenRequest, rediscover: (@Sendable () async -> String?)? = nil) async throws(TokenError) -> AccessToken {
        var request = request
        var rediscover = rediscover
        let start = ContinuousClock.now
        let end = start + deadline
        var attempt = 0
        var lastProblem = "no attempt was made"
        while true {
            attempt += 1
            let sentAt = clock()
            let outcome = await send(request, until: end)
            if case .endpointGone = outcome, let ask = rediscover {
                rediscover = nil
                if let moved = await ask(), moved != request.tokenURL {
                    request.tokenURL = moved
                    continue
                }
            }
            let wait: Duration
            switch outcome {
            case .token(let body):
                do {
                    return try TokenResponse.token(from: body, sentAt: sentAt)
                } catch {
                    throw .malformedResponse("\(error) (client \(request.ref), \(request.tokenURL)); is that the realm's OAuth token endpoint?")
                }
            case .credentialsRejected(let status, let body):
                let error = TokenResponse.error(from: body)
                throw .rejected(client: request.ref, status: status, error: error.code, description: error.description)
            case .retryable(let problem, let retryAfter):
                lastProblem = problem
                let backoff = Duration.milliseconds(Int64(Double(200 << min(attempt - 1, 5)) * Double.random(in: 0.5...1.0)))
                wait = max(backoff, retryAfter ?? .zero)
            case .final(let error):
                throw error
            case .endpointGone(let problem):
                guard let problem else {
                    throw .malformedResponse("the token URL of realm \(request.ref.realm) answered HTTP 404; is \(request.tokenURL) an OAuth token endpoint?")
                }
                lastProblem = problem
                wait = .milliseconds(Int64(Double(200 << min(attempt - 1, 5)) * Double.random(in: 0.5...1.0)))
            }
            guard ContinuousClock.now + wait < end else {
                throw .unavailable("could not get a token for \(request.ref) from \(Self.host(request.tokenURL)) within \(deadline) (\(attempt) attempt\(attempt == 1 ? "" : "s")): \(lastProblem)")
            }
            do { try await sleep(wait) } catch { throw .unavailable("cancelled while waiting to retry: \(lastProblem)") }
        }
    }

    private enum Outcome {
        case token([UInt8])
        case credentialsRejected(Int, [UInt8])
        case retryable(String, retryAfter: Duration?)
        case final(TokenError)
        /// Connection refused (with what to report if it persists), or a 404 (`nil`): the
        /// endpoint is not there any more, which for a discovered one is worth asking about.
        case endpointGone(String?)
    }

    private func send(_ request: TokenRequest, until end: ContinuousClock.Instant) async -> Outcome {
        var http = HTTPClientRequest(url: request.tokenURL)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        http.headers.add(name: "Accept", value: "application/json")
        // The secret-bearing parts are made in sodium memory and stay there until written
        // (see TokenRequest+Wire.swift for the copies the HTTP stack makes that we cannot zero).
        if request.authMethod == .clientSecretBasic {
            // HTTPHeaders holds Strings: this one copy of the credentials is beyond our reach.
            http.headers.add(name: "Authorization", value: request.secureBasicCredentials().withUnsafeBytes { String(decoding: $0, as: UTF8.self) })
        }
        let body = SecureBody(bytes: request.secureBody())
        http.body = .bytes(body, length: .known(Int64(body.count)))
        http.tlsConfiguration = Self.tls(trusting: request.caFile)

        let reply: HTTPReply
        do {
            reply = try await Self.exchange(http, until: end, upTo: TokenResponse.maximumBodySize)
        } catch is NIOTooManyBytesError {
            return .final(.malformedResponse("the token endpoint of \(request.ref.realm) sent a response larger than \(TokenResponse.maximumBodySize / 1024) KiB; is \(Self.host(request.tokenURL)) an OAuth token endpoint?"))
        } catch {
            if Self.isConnectionRefused(error) {
                return .endpointGone("\(Self.describe(error)) talking to \(Self.host(request.tokenURL))")
            }
            return Self.classify(error, url: request.tokenURL, realm: request.ref.realm)
        }
        let bytes = reply.body
        let status = reply.status
        switch status {
        case 200:
            return .token(bytes)
        case 400, 401, 403:
            return .credentialsRejected(status, bytes)
        case 429, 500...599:
            let retryAfter = reply.headers.first(name: "Retry-After").flatMap(Self.retryAfter)
            return .retryable("HTTP \(status)", retryAfter: retryAfter)
        case 404:
            return .endpointGone(nil)
        default:
            return .final(.malformedResponse("the token URL of realm \(request.ref.realm) answered HTTP \(status); is \(request.tokenURL) an OAuth token endpoint?"))
        }
    }

    /// `Retry-After` in seconds (HTTP-dates are rare from token endpoints and treated as absent).
    static func retryAfter(_ value: String) -> Duration? {
        Int(value.trimmingWhitespace).map { .seconds(max(0, min($0, 3600))) }
    }

    private static func classify(_ error: any Error, url: String, realm: Name) -> Outcome {
        if let refused = tlsFailure(error, url: url, realm: realm) { return .final(refused) }
        return .retryable("\(describe(error)) talking to \(host(url))", retryAfter: nil)
    }

    /// A TLS failure is final: retrying will not make a certificate trusted.
    static func tlsFailure(_ error: any Error, url: String, realm: Name) -> TokenError? {
        if let tls = error as? NIOSSLError {
            return .refused("TLS with \(host(url)) failed (\(tls)). If realm \(realm) uses a private CA, trust it with `cloak realm update \(realm) --ca-file CA.pem`.")
        }
        if let tls = error as? BoringSSLError {
            return .refused("the TLS certificate of \(host(url)) is not trusted (\(tls)). If realm \(realm) uses a private CA, trust it with `cloak realm update \(realm) --ca-file CA.pem`.")
        }
        return nil
    }

    /// The realm's CA file as the only trust root, or the system's roots; always verified.
    static func tls(trusting caFile: String?) -> TLSConfiguration? {
        guard let caFile else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .file(caFile)
        return tls
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        .nanoseconds(Int64(duration.components.seconds) * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
    }

    /// Nothing listens there (any more): the connection was refused outright.
    static func isConnectionRefused(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        }
        return false
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: return "timed out"
            case .remoteConnectionClosed: return "the connection was closed"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }

    static func host(_ url: String) -> String { URLComponents(string: url)?.host ?? url }
}

extension String {
    var trimmingWhitespace: Substring {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " && $0 != "\t" }.map { scalars.index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
