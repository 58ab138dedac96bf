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
    /// The TLS handshake failed for another reason than the certificate (not TLS on that port,
    /// an alert): final, too.
    case tls(String)
    /// The server's certificate did not verify, or is not for the host: retrying will not make
    /// it trusted; trusting its CA might.
    case untrustedCertificate(String)
    /// Nothing listens there (any more). Nothing was sent, so any request may be tried again.
    case connectionRefused(String)
    /// The deadline passed: while connecting, waiting for the head, or reading the body.
    case timedOut
    /// The server closed the connection before its answer was whole.
    case closed
    /// The body was longer than the caller allows.
    case tooLarge(limit: Int)
    /// The host name did not resolve: retrying soon rarely helps, but DNS can be flaky.
    case unresolvable
    case other(String)

    /// One clause: what happened, then in brackets what to check. Never a build path or
    /// BoringSSL's error stack (whose codes `tlsReason` turns into words).
    package var description: String {
        switch self {
        case .tls(let text), .untrustedCertificate(let text), .other(let text): text
        case .connectionRefused(let text): "\(text) (nothing listens there: is the server running, and on this port?)"
        case .timedOut: "timed out (no answer: is the server up, and reachable from here?)"
        case .unresolvable: "the host name does not resolve (check the URL's host, and this machine's DNS)"
        case .closed: "the connection was closed"
        case .tooLarge(let limit): "the answer was larger than \(limit) bytes"
        }
    }

    /// What a failed TLS handshake means, from BoringSSL's reason codes (the words after
    /// `OPENSSL_internal:` in its error stack): which check failed, in a few words, and whether
    /// it was the certificate's (which trusting a CA may cure).
    static func tlsReason(_ error: any Error) -> (String, certificate: Bool) {
        if let extra = error as? NIOSSLExtraError, extra == .failedToValidateHostname {
            return ("the server's certificate is not for this host name", true)
        }
        let text = "\(error)"
        var reasons: [Substring] = []
        var rest = text[...]
        while let range = rest.firstRange(of: "OPENSSL_internal:") {
            rest = rest[range.upperBound...]
            reasons.append(rest.prefix { $0.isUppercase || $0.isNumber || $0 == "_" })
        }
        if reasons.contains("CERTIFICATE_VERIFY_FAILED") {
            return ("the server's certificate did not verify: not issued by a CA trusted here, expired, or not yet valid", true)
        }
        if reasons.contains("WRONG_VERSION_NUMBER") {
            return ("the server does not speak TLS on this port (plain http?)", false)
        }
        if let alert = reasons.first(where: { $0.contains("ALERT") }) {
            return ("the server ended the handshake (\(alert.lowercased().replacing("_", with: " ")))", false)
        }
        if text.contains("EOF during handshake") || text.contains("uncleanShutdown") {
            return ("the server closed the connection during the handshake", false)
        }
        return (reasons.isEmpty ? "the handshake failed" : "the handshake failed (\(reasons.joined(separator: ", ")))", error is BoringSSLError)
    }

    /// What AsyncHTTPClient, NIO or NIOSSL threw, sorted.
    init(_ error: any Error, limit: Int) {
        switch error {
        case is NIOSSLError, is NIOSSLExtraError, is BoringSSLError:
            let (reason, certificate) = Self.tlsReason(error)
            self = certificate ? .untrustedCertificate(reason) : .tls(reason)
        case is NIOTooManyBytesError, is ResponseAccumulator.ResponseTooBigError:
            self = .tooLarge(limit: limit)
        case let error where Self.isConnectionRefused(error):
            // NIO's own text reads "connection reset (error set): Connection refused (errno: 111)"
            // for a refused connect: the message says what happened, plainly.
            self = .connectionRefused("connection refused")
        case let error where Self.isUnresolvable(error):
            self = .unresolvable
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

    /// A name that does not resolve: NIO's `SocketAddressError.unknown`, alone or as the DNS
    /// errors of a `NIOConnectionError` that reached no address.
    private static func isUnresolvable(_ error: any Error) -> Bool {
        if error is SocketAddressError { return true }
        if let error = error as? NIOConnectionError {
            return error.connectionErrors.isEmpty && (error.dnsAError != nil || error.dnsAAAAError != nil)
        }
        return false
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
