import HTTPTypes
import NIOCore
import NIOHTTPTypes
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Turns a response marked with ``Replies/resetMarker`` into a TCP reset, so tests see the
/// "connection reset by peer" a crashing IdP or proxy produces.
///
/// Hummingbird gives handlers no access to the connection, so the marker travels down the
/// pipeline to this handler, which sets `SO_LINGER` to zero and closes: the kernel then sends
/// RST instead of FIN.
final class ConnectionResetHandler: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private var resetting = false

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if resetting {
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if case .head(let head) = unwrapOutboundIn(data), head.headerFields[Replies.resetMarker] != nil {
            resetting = true
            promise?.fail(ChannelError.ioOnClosedChannel)
            let channel = context.channel
            guard let socket = channel as? any SocketOptionProvider else {
                context.close(promise: nil)
                return
            }
            socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        context.write(data, promise: promise)
    }
}
