import NIOCore
import NIOHTTP1
import NIOPosix

/// One response, as the load loops need it.
struct Reply: Sendable {
    var status: HTTPResponseStatus
    /// The body, when the connection keeps bodies; `nil` otherwise (or when it had none).
    var body: ByteBuffer?
    /// From just before the request was written to the end of the response being read.
    var elapsed: TimeAmount
}

/// The connection closed while a request waited for its response.
struct ConnectionClosed: Error, CustomStringConvertible {
    var description: String { "the server closed the connection" }
}

/// The last handler of a client connection: sends one request at a time (no pipelining) and
/// completes that request's future when the whole response has arrived. It lives on the
/// channel's event loop and is only used there.
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let keepBodies: Bool
    private var context: ChannelHandlerContext?
    private var pending: EventLoopPromise<Reply>?
    private var started = NIODeadline.distantPast
    private var status = HTTPResponseStatus.ok
    private var body: ByteBuffer?

    /// `keepBodies`: collect each response's body for the reply (else it is dropped as it arrives).
    init(keepBodies: Bool) { self.keepBodies = keepBodies }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        fail(ConnectionClosed())
    }

    /// Sends `head` (a request without a body) and answers its response. One request at a time:
    /// the previous one's future must have completed.
    func send(_ head: HTTPRequestHead) -> EventLoopFuture<Reply> {
        guard let context else { preconditionFailure("send(_:) before the handler joined a pipeline") }
        precondition(pending == nil, "send(_:) while a request is in flight")
        let promise = context.eventLoop.makePromise(of: Reply.self)
        guard context.channel.isActive else {
            promise.fail(ConnectionClosed())
            return promise.futureResult
        }
        pending = promise
        body = nil
        started = .now()
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
        case .body(var part):
            guard keepBodies else { return }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            let elapsed = NIODeadline.now() - started
            guard let promise = pending else { return }  // a response nobody asked for: ignored
            pending = nil
            promise.succeed(Reply(status: status, body: body, elapsed: elapsed))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ConnectionClosed())
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    private func fail(_ error: any Error) {
        guard let promise = pending else { return }
        pending = nil
        promise.fail(error)
    }
}

/// A keep-alive HTTP/1.1 connection on a Unix socket.
struct Connection: Sendable {
    let channel: any Channel

    /// Connects to the socket at `path` on one of `group`'s event loops.
    static func open(socket path: String, group: any EventLoopGroup, keepBodies: Bool) async throws -> Connection {
        let channel = try await ClientBootstrap(group: group)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(ExchangeHandler(keepBodies: keepBodies))
                }
            }
            .connect(unixDomainSocketPath: path)
            .get()
        return Connection(channel: channel)
    }

    var eventLoop: any EventLoop { channel.eventLoop }

    /// The connection's exchange handler: on the connection's event loop only.
    func handler() throws -> ExchangeHandler {
        try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
    }

    func close() async {
        try? await channel.close()
    }
}
