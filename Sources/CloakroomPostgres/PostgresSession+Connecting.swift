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

/// Reaching the server: the URL's hosts in order, each with its TLS settings and start-up
/// parameters, and the slot that holds the connection now.
extension PostgresSession {
    static func open(_ location: PostgresLocation, environment: (String) -> String?, logger: Logger) throws -> PostgresConnection {
        let passwords = PasswordFile.located(environment: environment)
        var failures: [String] = []
        for host in location.hosts {
            do {
                let password = try passwords?.password(host: host, database: location.database, user: location.user)
                let configuration = try Self.configuration(location, host: host, password: password, environment: environment)
                let connection = try PostgresConnection.connect(
                    on: MultiThreadedEventLoopGroup.singleton.any(), configuration: configuration, id: 1, logger: logger
                ).wait()
                if location.readWrite {
                    let rows = try waitBounded(connection.query("SELECT current_setting('transaction_read_only') AS ro", logger: logger),
                                               connection: connection).rows
                    if try rows.first?.decode(String.self) == "on" {
                        failures.append("\(Self.describe(host)): read-only (a standby)")
                        try? connection.close().wait()
                        continue
                    }
                }
                return connection
            } catch let error as StoreError {
                throw error
            } catch {
                failures.append("\(Self.describe(host)): \(Self.reason(error))")
            }
        }
        throw StoreError(kind: .unreachable, path: location.text, message: failures.joined(separator: "; "))
    }

    static func describe(_ host: PostgresLocation.Host) -> String {
        host.isUnixSocket ? "\(host.name)/.s.PGSQL.\(host.port)" : "\(host.name):\(host.port)"
    }

    static func configuration(
        _ location: PostgresLocation, host: PostgresLocation.Host, password: String?, environment: (String) -> String?
    ) throws -> PostgresConnection.Configuration {
        var configuration: PostgresConnection.Configuration
        if host.isUnixSocket {
            configuration = .init(unixSocketPath: host.name + "/.s.PGSQL.\(host.port)", username: location.user, password: password,
                                  database: location.database)
        } else {
            configuration = .init(host: host.name, port: host.port, username: location.user, password: password, database: location.database,
                                  tls: try tls(location, host: host, environment: environment))
        }
        configuration.options.connectTimeout = .milliseconds(location.connectTimeout.components.seconds * 1000
                                                              + location.connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        // Settings every session of a vault needs, in the start-up message (no round trip):
        // its schema; UTC; a lock timeout, so that a read blocked by someone else's lock (an
        // administrator's ALTER TABLE, a LOCK TABLE left open) fails as busy after the busy timeout
        // rather than waiting for it (a write transaction sets its own, for the write lock); and
        // TCP keepalives short enough that the server notices a dead host within half a minute
        // and releases what that host's session held (its advisory locks).
        configuration.options.additionalStartupParameters = [
            ("search_path", location.schema), ("application_name", "cloakroom"), ("TimeZone", "UTC"),
            ("lock_timeout", "\(PostgresSession.milliseconds(location.lockTimeout))ms"),
            ("tcp_keepalives_idle", "10"), ("tcp_keepalives_interval", "5"), ("tcp_keepalives_count", "3"),
        ]
        return configuration
    }

    /// TLS as the URL's `sslmode` asks: verified against `sslrootcert` (else
    /// `~/.postgresql/root.crt` when present, as libpq, else the system's trust store).
    static func tls(_ location: PostgresLocation, host: PostgresLocation.Host, environment: (String) -> String?) throws
        -> PostgresConnection.Configuration.TLS {
        guard location.sslMode != .disable else { return .disable }
        var tls = TLSConfiguration.makeClientConfiguration()
        switch location.sslMode {
        case .disable, .require: tls.certificateVerification = .none
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        let defaultRoot = environment("HOME").map { $0 + "/.postgresql/root.crt" }
        if let root = location.rootCertificate {
            tls.trustRoots = .file(root)
        } else if let defaultRoot, access(defaultRoot, R_OK) == 0 {
            tls.trustRoots = .file(defaultRoot)
        }
        if let certificate = location.clientCertificate, let key = location.clientKey {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
            } catch {
                throw StoreError(kind: .invalidLocation, path: location.text, message: "cannot read the client certificate \(certificate) or its key \(key): \(error)")
            }
        }
        do {
            return .require(try NIOSSLContext(configuration: tls))
        } catch {
            throw StoreError(kind: .invalidLocation, path: location.text,
                             message: "cannot use the TLS settings (sslrootcert \(location.rootCertificate ?? "default")): \(error)")
        }
    }
}

/// A session's connection, replaced when the server ends it: read by the locks from any thread.
final class ConnectionSlot: Sendable {
    private let state: Mutex<PostgresConnection>

    init(_ connection: PostgresConnection) {
        state = Mutex(connection)
    }

    var current: PostgresConnection { state.withLock { $0 } }

    func replace(with connection: PostgresConnection) {
        let old = state.withLock { state in
            defer { state = connection }
            return state
        }
        old.close().whenComplete { _ in }
    }
}
