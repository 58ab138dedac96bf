import Hummingbird
import Logging
import NIOCore

/// Hummingbird's request context plus the peer address, which Keycloak puts in tokens
/// (`clientAddress`) and uses for its `sslRequired=external` check.
struct IdPRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let remoteAddress: SocketAddress?

    init(source: ApplicationRequestContextSource) {
        coreContext = CoreRequestContextStorage(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// Bodies above this are refused: the largest legitimate one is a client representation.
    var maxUploadSize: Int { 1 << 20 }
}
