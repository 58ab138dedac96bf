import Cloakroom
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
import Synchronization
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The agent's HTTP/1.1 server on a Unix socket (so that `curl --unix-socket` and any language's
/// HTTP client can use it): one event loop, the peer's credentials read from the kernel when a
/// connection is accepted, idle connections closed, request bodies refused (every route is a GET).
public final class AgentServer: Sendable {
    /// How the server treats connections.
    public struct Limits: Sendable {
        /// A connection that sends nothing for this long is closed.
        public var idleTimeout: Duration = .seconds(60)
        /// A request whose head has not fully arrived this long after its first byte is answered
        /// 408 and its connection closed (a slow-loris client holds nothing for long).
        public var requestTimeout: Duration = .seconds(10)
        /// How long `stop()` waits for requests in flight.
        public var drainTimeout: Duration = .seconds(15)
        /// Limits suited to one host's processes.
        public init() {}
    }

    /// Where the server listens.
    public let socketPath: String
    /// The loopback TCP address it also listens on (`--listen`), with the port it got.
    public let tcpAddress: String?
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    private let tcpChannel: (any Channel)?
    private let inFlight: InFlight
    /// Whether systemd made the socket (socket activation): then it is systemd's to remove.
    private let activated: Bool

    private init(socketPath: String, group: MultiThreadedEventLoopGroup, channel: any Channel, tcpChannel: (any Channel)?,
                 inFlight: InFlight, activated: Bool) {
        (self.socketPath, self.group, self.channel, self.tcpChannel, self.inFlight, self.activated) = (socketPath, group, channel, tcpChannel, inFlight, activated)
        tcpAddress = tcpChannel?.localAddress.map { address in
            let host = address.ipAddress ?? "?"
            return (host.contains(":") ? "[\(host)]" : host) + ":\(address.port ?? 0)"
        }
    }

    /// Listens on `socketPath` (mode 0600, or 0666 when `service`'s policy admits other users; in
    /// a directory of this user's that nobody else can write to) and answers with `service`.
    /// - Throws: `VaultError` `.conflict` when an agent already answers there; `.permissions`,
    ///   `.io` when the socket cannot be made.
    /// `listening`: a socket systemd made and passed (socket activation), listened on as it is.
    /// `tcp`: a loopback address (`LoopbackAddress`) to listen on as well, for consumers that
    /// cannot reach the socket (containers): each request there presents a consumer's credential.
    public static func start(_ service: AgentService, socketPath: String, listening: Int32? = nil, tcp: LoopbackAddress? = nil,
                             limits: Limits = Limits()) async throws -> AgentServer {
        raiseFileLimit()
        let shared = service.admitsOthers
        if listening == nil {
            try AgentSocket.prepareDirectory(FileSystem.parent(of: socketPath), shared: shared)
            try AgentSocket.removeStale(socketPath)
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let inFlight = InFlight()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 512)
            .childChannelInitializer { channel in
                Peer.of(channel).flatMap { peer in
                    channel.eventLoop.makeCompletedFuture {
                        try configure(channel, peer: peer, service: service, limits: limits, inFlight: inFlight)
                    }
                }
            }
        do {
            var tcpChannel: (any Channel)?
            if let tcp {
                let tcpBootstrap = ServerBootstrap(group: group)
                    .serverChannelOption(.backlog, value: 512)
                    .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                    .childChannelInitializer { channel in
                        channel.eventLoop.makeCompletedFuture {
                            try configure(channel, peer: nil, service: service, limits: limits, inFlight: inFlight)
                        }
                    }
                tcpChannel = try await tcpBootstrap.bind(host: tcp.host, port: tcp.port).get()
            }
            if let listening {
                let channel = try await bootstrap.withBoundSocket(listening).get()
                return AgentServer(socketPath: socketPath, group: group, channel: channel, tcpChannel: tcpChannel, inFlight: inFlight, activated: true)
            }
            let channel = try await bootstrap.bind(unixDomainSocketPath: socketPath, cleanupExistingSocketFile: false).get()
            do { try AgentSocket.restrict(socketPath, shared: shared) } catch {
                try? await channel.close()
                throw error
            }
            return AgentServer(socketPath: socketPath, group: group, channel: channel, tcpChannel: tcpChannel, inFlight: inFlight, activated: false)
        } catch let error as VaultError {
            try? await group.shutdownGracefully()
            throw error
        } catch {
            try? await group.shutdownGracefully()
            throw VaultError(.io, "cannot listen on \(socketPath): \(error)")
        }
    }

    /// One connection's handlers: the timers, NIO's HTTP/1.1 server pipeline, the agent's own.
    /// `peer`: the process at the other end of the Unix socket; `nil` on the TCP listener.
    private static func configure(_ channel: any Channel, peer: Peer?, service: AgentService, limits: Limits, inFlight: InFlight) throws {
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(RequestTimer(limits: limits))
        // The agent's own headers are constants and the vault's path, made safe once
        // (`AgentService.vaultHeader`): NIO's check of every outbound header is not needed, and
        // was a tenth of a request.
        try pipeline.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true, withOutboundHeaderValidation: false)
        try pipeline.addHandler(AgentHTTPHandler(service: service, peer: peer, limits: limits, inFlight: inFlight))
    }

    /// Applies `service`'s policy (just reloaded) to the socket's mode and its directory's.
    public func policyChanged(_ service: AgentService) throws {
        guard !activated else { return }  // the socket unit's SocketMode decides
        let shared = service.admitsOthers
        try AgentSocket.prepareDirectory(FileSystem.parent(of: socketPath), shared: shared)
        try AgentSocket.restrict(socketPath, shared: shared)
    }

    /// Stops accepting, waits up to the drain timeout for requests in flight to be answered,
    /// then closes every connection and removes the socket.
    public func stop(drainTimeout: Duration = Limits().drainTimeout) async {
        try? await channel.close()
        try? await tcpChannel?.close()
        let end = ContinuousClock.now + drainTimeout
        while inFlight.count > 0, ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(20))
        }
        try? await group.shutdownGracefully()
        if !activated { FileSystem.remove(socketPath) }
    }

    /// Each connection is a file descriptor: the soft limit (often 1,024) is raised to the hard
    /// one (capped at 1,048,576), so that thousands of idle consumers do not lock the rest out.
    private static func raiseFileLimit() {
        var limit = rlimit()
        #if os(Linux)
        let files = Int32(RLIMIT_NOFILE.rawValue)
        #else
        let files = RLIMIT_NOFILE
        #endif
        guard getrlimit(files, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = min(limit.rlim_max, 1 << 20)
        _ = setrlimit(files, &limit)
    }

    /// Requests accepted and not yet answered.
    final class InFlight: Sendable {
        private let value = Atomic<Int>(0)
        var count: Int { value.load(ordering: .relaxed) }
        func begin() { value.add(1, ordering: .relaxed) }
        func end() { value.subtract(1, ordering: .relaxed) }
    }
}

extension AgentHTTPHandler {
    /// Server-sent events: the head (chunked, as NIO's encoder makes a body of unknown length),
    /// a comment so that the client sees the stream open, then each event as it happens, until
    /// the client goes away or the agent stops. The request counts as answered once the head is
    /// out: draining on SIGTERM does not wait for a stream that never ends.
    private func stream(_ events: AsyncStream<AgentEvent>, head: HTTPRequestHead, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "text/event-stream")
        headers.add(name: "Cache-Control", value: "no-store")
        headers.add(name: "Cloakroom-Vault", value: service.vaultHeader)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: .ok, headers: headers))), promise: nil)
        var opening = context.channel.allocator.buffer(capacity: 16)
        opening.writeString(": events follow\n\n")
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(opening))), promise: nil)
        inFlight.end()
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        streaming = Task {
            for await event in events {
                let bytes = event.serverSentEvent
                loop.execute {
                    let (handler, context) = bound.value
                    var buffer = context.channel.allocator.buffer(capacity: bytes.count)
                    buffer.writeBytes(bytes)
                    context.writeAndFlush(handler.wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
                }
            }
            loop.execute {
                let (handler, context) = bound.value
                context.writeAndFlush(handler.wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.1.close(promise: nil) }
            }
        }
    }
}

/// One connection's requests: collected, checked, answered by the service off the event loop.
final class AgentHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let service: AgentService
    /// The process at the other end of the Unix socket; `nil` on the TCP listener, where each
    /// request presents a consumer's credential instead.
    private let peer: Peer?
    private let limits: AgentServer.Limits
    private let inFlight: AgentServer.InFlight
    private var head: HTTPRequestHead?
    private var bodyTooLarge = false
    /// Sends `GET /v1/events`' stream; cancelled when the connection closes.
    private var streaming: Task<Void, Never>?

    init(service: AgentService, peer: Peer?, limits: AgentServer.Limits, inFlight: AgentServer.InFlight) {
        (self.service, self.peer, self.limits, self.inFlight) = (service, peer, limits, inFlight)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            bodyTooLarge = false
            context.pipeline.fireUserInboundEventTriggered(RequestEvent.headComplete)
        case .body:
            bodyTooLarge = true  // no route takes a body
        case .end:
            guard let head else { return }
            self.head = nil
            inFlight.begin()
            if bodyTooLarge {
                write(.init(Problem(status: 413, code: "too_large", detail: "the agent's requests carry no body.")), head: head, context: context)
                return
            }
            let request = AgentService.Request(method: head.method.rawValue, target: head.uri)
            let service = self.service
            let caller: AgentService.Caller = peer.map { .local($0) } ?? .remote(bearer: Self.bearer(in: head.headers))
            if let response = service.respondFromMemory(to: request, from: caller) {
                return write(response, head: head, context: context)
            }
            let promise = context.eventLoop.makePromise(of: AgentService.Response.self)
            promise.completeWithTask { await service.respond(to: request, from: caller) }
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            promise.futureResult.whenSuccess { response in
                let (handler, context) = bound.value
                handler.write(response, head: head, context: context)
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        streaming?.cancel()
        context.fireChannelInactive()
    }

    /// The credential of `Authorization: Bearer …`, if that is what the request carries.
    private static func bearer(in headers: HTTPHeaders) -> String? {
        guard let value = headers.first(name: "Authorization") else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1].drop { $0 == " " })
    }

    private func write(_ response: AgentService.Response, head: HTTPRequestHead, context: ChannelHandlerContext) {
        if let events = response.events { return stream(events, head: head, context: context) }
        let keepAlive = head.isKeepAlive && !bodyTooLarge
        var headers = HTTPHeaders([
            ("Content-Type", response.contentType), ("Content-Length", String(response.body.count)),
            ("Cache-Control", "no-store"), ("Cloakroom-Vault", service.vaultHeader),
        ])
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let inFlight = self.inFlight
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            inFlight.end()
            if keepAlive {
                bound.value.pipeline.fireUserInboundEventTriggered(RequestEvent.answered)
            } else {
                bound.value.close(promise: nil)
            }
        }
    }
}
