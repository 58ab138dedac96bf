#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
internal import NIOCore

/// Who is at the other end of a connection to the agent's socket, as the kernel tells it
/// (`SO_PEERCRED`, read once when the connection is accepted): a peer cannot claim to be someone
/// else, as it could with anything it sends.
public struct Peer: Sendable, Hashable, CustomStringConvertible {
    /// The peer process's effective user and group ids, and its process id.
    public var uid: UInt32
    /// The peer's effective group id.
    public var gid: UInt32
    /// The peer's process id (0 where the system does not tell).
    public var pid: Int32

    /// A peer with these ids.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        (self.uid, self.gid, self.pid) = (uid, gid, pid)
    }

    /// `uid 1000 gid 1000 pid 4242`: what the agent's log says of a peer.
    public var description: String { "uid \(uid) gid \(gid) pid \(pid)" }

    /// The process's own credentials (read once: they do not change while the agent runs).
    static let current = Peer(uid: UInt32(getuid()), gid: UInt32(getgid()), pid: getpid())

    /// The credentials of the process at the other end of `channel`, a connected Unix socket.
    static func of(_ channel: any Channel) -> EventLoopFuture<Peer> {
        #if os(Linux)
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(PeerUnknown())
        }
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_SOCKET), name: SocketOptionName(SO_PEERCRED))
            .map { (credentials: KernelCredentials) in Peer(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid) }
        #else
        // getpeereid(2) would do on the BSDs and macOS; until then no peer is trusted there.
        return channel.eventLoop.makeFailedFuture(PeerUnknown())
        #endif
    }

    struct PeerUnknown: Error {}

    /// Linux's `struct ucred`, which Glibc's module hides behind `_GNU_SOURCE`: the same layout.
    struct KernelCredentials: Sendable {
        var pid: Int32
        var uid: UInt32
        var gid: UInt32
    }
}
