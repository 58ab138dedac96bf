internal import CloakroomStore
internal import Logging
internal import NIOCore
internal import NIOPosix
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// What a failure means for the vault, in one line (never a password: none is ever in a message).
extension PostgresSession {

    /// What a failure means for the vault, sorted as SQLite's are (by SQLSTATE class).
    func report(_ error: any Error) -> any Error {
        if let error = error as? StoreError { return reporting(error) }
        return reporting(StoreError(kind: Self.kind(of: error), path: location.text, message: Self.reason(error)))
    }

    static func kind(of error: any Error) -> StoreError.Kind {
        guard let error = error as? PSQLError else { return .unreachable }
        switch error.code {
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            switch state {
            case "25006": return .readOnly  // read_only_sql_transaction: a standby
            case "53100": return .diskFull
            case "55P03", "40001", "40P01", "57014": return .busy  // lock timeout, serialization, deadlock, statement timeout
            case "42501": return .denied
            case "3D000", "28000", "28P01", "57P01", "57P02", "57P03": return .unreachable
            default: break
            }
            if state.hasPrefix("23") { return .constraint }
            if state.hasPrefix("08") || state.hasPrefix("57") { return .unreachable }
            if state.hasPrefix("53") || state.hasPrefix("58") { return .io }
            if state.hasPrefix("XX") { return .corrupted }
            return .other
        default:
            return .unreachable
        }
    }

    /// One line: the server's message and SQLSTATE, or what failed on the way to it.
    static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return "\(error)" }
        if let info = error.serverInfo, let message = info[.message] {
            return "\(message) (SQLSTATE \(info[.sqlState] ?? "?"))"
        }
        switch error.code {
        case .sslUnsupported: return "the server does not offer TLS (sslmode=disable only on loopback)"
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            if let underlying = error.underlying { return Self.reason(connecting: underlying) }
            return "the connection failed (\(error.code))"
        default:
            if let underlying = error.underlying { return "\(error.code): \(underlying)" }
            return "\(error.code)"
        }
    }
}

extension PostgresSession {
    /// What went wrong on the way to the server, in a few words: NIO's own descriptions name
    /// every address it tried and the error-set internals.
    static func reason(connecting error: any Error) -> String {
        if let failed = error as? NIOConnectionError {
            let reasons = failed.connectionErrors.map { reason(connecting: $0.error) }
            return reasons.isEmpty ? (failed.dnsAAAAError ?? failed.dnsAError).map { "cannot resolve the host name (\($0))" } ?? "cannot connect" : reasons[0]
        }
        if let io = error as? IOError {
            switch io.errnoCode {
            case ECONNREFUSED: return "connection refused (is the server running, on this port?)"
            case ENOENT: return "no such socket (is the server running, with this socket directory?)"
            case ETIMEDOUT: return "timed out"
            case EHOSTUNREACH, ENETUNREACH: return "host unreachable"
            default: return String(cString: strerror(io.errnoCode))
            }
        }
        if let channel = error as? ChannelError, case .connectTimeout = channel { return "timed out connecting" }
        if let tls = error as? NIOSSLError { return "TLS failed: \(tls) (check sslrootcert and the server's certificate)" }
        return "\(error)"
    }
}

/// The session's connection closed, or stopped answering.
struct ConnectionLost: Error, CustomStringConvertible {
    var timedOut = false
    var description: String {
        timedOut ? "the server did not answer within \(PostgresSession.answerTimeout.nanoseconds / 1_000_000_000) s" : "the connection to the server was lost"
    }
}
