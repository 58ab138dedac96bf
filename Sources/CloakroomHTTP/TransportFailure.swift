internal import AsyncHTTPClient
internal import NIOCore
internal import NIOPosix
internal import NIOSSL

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Why an exchange ended without a whole answer, as data: whether to try again is the caller's
/// call (a token request retries what an admin POST must not).
///
/// `description` is what a message can quote after "talking to HOST"; it never holds a request's
/// or an answer's bytes.
package enum TransportFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TLS handshake failed (NIOSSL's error): retrying will not make a certificate trusted.
    case tls(String)
    /// BoringSSL refused the server's certificate (or the CA file) outright.
    case untrustedCertificate(String)
    /// Nothing listens there (any more). Nothing was sent, so any request may be tried again.
    case connectionRefused(String)
    /// The deadline passed: while connecting, waiting for the head, or reading the body.
    case timedOut
    /// The server closed the connection before its answer was whole.
    case closed
    /// The body was longer than the caller allows.
    case tooLarge(limit: Int)
    case other(String)

    package var description: String {
        switch self {
        case .tls(let text), .untrustedCertificate(let text), .connectionRefused(let text), .other(let text): text
        case .timedOut: "timed out"
        case .closed: "the connection was closed"
        case .tooLarge(let limit): "the answer was larger than \(limit) bytes"
        }
    }

    /// What AsyncHTTPClient, NIO or NIOSSL threw, sorted.
    init(_ error: any Error, limit: Int) {
        switch error {
        case let error as NIOSSLError:
            self = .tls("\(error)")
        case let error as BoringSSLError:
            self = .untrustedCertificate("\(error)")
        case is NIOTooManyBytesError, is ResponseAccumulator.ResponseTooBigError:
            self = .tooLarge(limit: limit)
        case let error where Self.isConnectionRefused(error):
            // NIO's own text reads "connection reset (error set): Connection refused (errno: 111)"
            // for a refused connect: the message says what happened, plainly.
            self = .connectionRefused("connection refused")
        case let error as HTTPClientError:
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout: self = .timedOut
            case .remoteConnectionClosed: self = .closed
            default: self = .other("\(error)")
            }
        default:
            self = .other("\(error)")
        }
    }

    /// With `retryConnectionEstablishment` off, a refused connection arrives as NIO threw it: a
    /// bare `IOError`, or (several addresses tried, happy eyeballs) a `NIOConnectionError` whose
    /// every attempt was refused.
    private static func isConnectionRefused(_ error: any Error) -> Bool {
        if let error = error as? IOError { return error.errnoCode == ECONNREFUSED }
        if let error = error as? NIOConnectionError {
            return !error.connectionErrors.isEmpty && error.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        }
        return false
    }
}
