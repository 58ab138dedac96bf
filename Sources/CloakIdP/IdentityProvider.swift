import Hummingbird
import HummingbirdCore
import HummingbirdTLS
public import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import UnixSignals

/// A Keycloak-compatible identity provider for integration tests: the token endpoint,
/// discovery, JWKS and the admin API subset a credential broker uses, plus test controls.
///
/// Run it in-process with ``start(configuration:options:keys:logger:)`` (tests), or with
/// ``run(handleSignals:onListening:)`` from the `cloak-idp` executable.
public struct IdentityProvider: Sendable {
    let emulator: Emulator
    let options: ServerOptions
    let logger: Logger

    /// Prepares a server; nothing listens until ``run(handleSignals:onListening:)``.
    /// - Parameters:
    ///   - keys: the signing keys; generated when `nil`. Pass one set to many servers in tests
    ///     to save the key generation.
    /// - Throws: ``ConfigurationError`` for an invalid configuration, or a key generation failure.
    public init(configuration: IdPConfiguration, options: ServerOptions = ServerOptions(), keys: KeySet? = nil, logger: Logger? = nil) throws {
        try configuration.validate()
        let relativePath = options.relativePath == "/" ? "" : String(options.relativePath.reversed().drop(while: { $0 == "/" }).reversed())
        guard relativePath.isEmpty || relativePath.hasPrefix("/") else {
            throw ConfigurationError("the relative path must start with '/', e.g. /auth")
        }
        let keySet = try keys ?? KeySet.generate(withEncryptionKey: configuration.compatibility.encryptionKeyInJWKS)
        emulator = Emulator(configuration: configuration, keys: keySet, relativePath: relativePath, isTLS: options.tls != nil)
        self.options = options
        var defaultLogger = Logger(label: "cloak-idp")
        defaultLogger.logLevel = .notice
        self.logger = logger ?? defaultLogger
    }

    /// Serves until cancelled, or until SIGINT/SIGTERM when `handleSignals` is set.
    /// - Parameter onListening: called once with the base URL (e.g. `http://127.0.0.1:43123`)
    ///   when the server accepts connections.
    /// - Throws: when the address cannot be bound or the TLS files cannot be read.
    public func run(handleSignals: Bool = false, onListening: @escaping @Sendable (String) async -> Void) async throws {
        try await serviceGroup(handleSignals: handleSignals, onListening: onListening).run()
    }

    /// The server as a service group, so that stopping it is a graceful shutdown (open
    /// connections finish) instead of a cancellation, which Hummingbird logs as errors.
    func serviceGroup(handleSignals: Bool, onListening: @escaping @Sendable (String) async -> Void) throws -> ServiceGroup {
        let scheme = options.tls == nil ? "http" : "https"
        let host = options.host
        let emulator = self.emulator
        let fallbackPort = options.port
        let responder = IdPResponder(
            emulator: emulator,
            controlsEnabled: options.controlsEnabled,
            scheme: scheme,
            fallbackAuthority: IdentityProvider.authority(host: host, port: fallbackPort)
        )
        let http1 = HTTPServerBuilder.http1(configuration: .init(additionalChannelHandlers: [ConnectionResetHandler()]))
        let server: HTTPServerBuilder
        if let tls = options.tls {
            let chain = try NIOSSLCertificate.fromPEMFile(tls.certificatePath).map { NIOSSLCertificateSource.certificate($0) }
            let key = try NIOSSLPrivateKey(file: tls.privateKeyPath, format: .pem)
            let configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key))
            server = try .tls(http1, tlsConfiguration: configuration)
        } else {
            server = http1
        }
        let app = Application(
            responder: responder,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(host, port: options.port), backlog: 1024),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? fallbackPort
                await onListening(scheme + "://" + IdentityProvider.authority(host: host, port: port))
            },
            logger: logger
        )
        return ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [app],
                gracefulShutdownSignals: handleSignals ? [.sigterm, .sigint] : [],
                logger: logger
            )
        )
    }

    static func authority(host: String, port: Int) -> String {
        (host.contains(":") ? "[\(host)]" : host) + ":" + String(port)
    }

    /// Starts a server in a background task and returns once it accepts connections.
    /// - Throws: what ``init(configuration:options:keys:logger:)`` and binding throw.
    public static func start(
        configuration: IdPConfiguration,
        options: ServerOptions = ServerOptions(),
        keys: KeySet? = nil,
        logger: Logger? = nil
    ) async throws -> RunningIdentityProvider {
        let provider = try IdentityProvider(configuration: configuration, options: options, keys: keys, logger: logger)
        let (stream, continuation) = AsyncStream<Result<String, any Error>>.makeStream()
        let group = try provider.serviceGroup(handleSignals: false) { baseURL in continuation.yield(.success(baseURL)) }
        let task = Task {
            do {
                try await group.run()
                continuation.yield(.failure(CancellationError()))
            } catch {
                continuation.yield(.failure(error))
            }
            continuation.finish()
        }
        var iterator = stream.makeAsyncIterator()
        guard let first = await iterator.next() else { throw CancellationError() }
        switch first {
        case .success(let baseURL):
            return RunningIdentityProvider(baseURL: baseURL, task: task, group: group, emulator: provider.emulator)
        case .failure(let error):
            task.cancel()
            throw error
        }
    }
}

/// A server started by ``IdentityProvider/start(configuration:options:keys:logger:)``.
public final class RunningIdentityProvider: Sendable {
    /// `http(s)://host:port` (plus nothing: add the relative path yourself if you set one).
    public let baseURL: String
    private let task: Task<Void, Never>
    private let group: ServiceGroup
    let emulator: Emulator

    init(baseURL: String, task: Task<Void, Never>, group: ServiceGroup, emulator: Emulator) {
        self.baseURL = baseURL
        self.task = task
        self.group = group
        self.emulator = emulator
    }

    /// The port it listens on.
    public var port: Int { Int(baseURL.split(separator: ":").last ?? "") ?? 0 }

    /// The signing key's id, as in the JWKS and every token header.
    public var signingKeyId: String { emulator.keys.signing.kid }

    /// Stops accepting connections and waits for the server to finish.
    public func stop() async {
        await group.triggerGracefulShutdown()
        await task.value
    }

    deinit { task.cancel() }
}
