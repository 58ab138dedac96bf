internal import NIOCore

/// Closes connections that are idle too long, and those whose request trickles in (slow loris):
/// a request's clock starts at its first byte and stops when its head is complete. One check per
/// connection, every half of the shorter timeout, reads two timestamps; a request costs two clock
/// reads, not a timer set and cancelled (which was a tenth of a busy agent's time). So a
/// connection is closed between one and one and a half timeouts late.
final class RequestTimer: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let limits: AgentServer.Limits
    private var check: Scheduled<Void>?
    /// When the request being received began (its first byte); `nil` between requests.
    private var requestStarted: NIODeadline?
    private var lastActivity = NIODeadline.now()
    /// Whether a response is being worked on: no timeout then (a token fetch may be slow).
    private var busy = false

    init(limits: AgentServer.Limits) { self.limits = limits }

    func channelActive(context: ChannelHandlerContext) {
        lastActivity = .now()
        scheduleCheck(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastActivity = .now()
        if requestStarted == nil, !busy { requestStarted = lastActivity }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event as? RequestEvent {
        case .headComplete:
            requestStarted = nil
            busy = true
        case .answered:
            busy = false
            lastActivity = .now()
        case nil:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        check?.cancel()
        context.fireChannelInactive()
    }

    private func scheduleCheck(_ context: ChannelHandlerContext) {
        let interval = TimeAmount(min(limits.requestTimeout, limits.idleTimeout) / 2)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(in: interval) {
            let (timer, context) = bound.value
            timer.examine(context)
        }
    }

    private func examine(_ context: ChannelHandlerContext) {
        let now = NIODeadline.now()
        if let started = requestStarted, now - started >= TimeAmount(limits.requestTimeout) {
            return context.close(promise: nil)
        }
        if !busy, requestStarted == nil, now - lastActivity >= TimeAmount(limits.idleTimeout) {
            return context.close(promise: nil)
        }
        scheduleCheck(context)
    }
}

/// Told to `RequestTimer` by the HTTP handler, through the pipeline.
enum RequestEvent {
    case headComplete
    case answered
}
