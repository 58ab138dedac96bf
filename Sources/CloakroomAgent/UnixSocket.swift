#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// A Unix socket's descriptor and address, for the agent's two plain-socket clients: `cloak`
/// asking the agent (a stream) and the agent telling systemd it is ready (a datagram).
enum UnixSocket {
    /// A new close-on-exec socket, `datagram` or a stream; `nil` when none can be made.
    static func make(datagram: Bool) -> Int32? {
        #if os(Linux)
        let fd = socket(AF_UNIX, Int32((datagram ? SOCK_DGRAM : SOCK_STREAM).rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, datagram ? SOCK_DGRAM : SOCK_STREAM, 0)
        #endif
        return fd >= 0 ? fd : nil
    }

    /// Calls `body` with the address of `path` and its length; `nil` when the path is too long.
    /// A path starting with `@` is a name in Linux's abstract namespace (a NUL byte first).
    static func withAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = path.hasPrefix("@") ? [0] + Array(path.utf8.dropFirst()) : Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        // A path is measured with its NUL (zeroed already); an abstract name is exactly its bytes.
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + (path.hasPrefix("@") ? 0 : 1))
        return withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) } }
    }
}
