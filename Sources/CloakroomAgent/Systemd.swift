#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// What systemd hands a service and wants to hear from it: socket activation (`LISTEN_FDS`) and
/// readiness (`sd_notify`), done by hand — the protocol is an environment variable and a datagram,
/// and libsystemd is not worth linking for it.
public enum Systemd {
    /// The listening socket systemd passed (fd 3), when it started this process for its socket
    /// unit: `LISTEN_PID` is this process and `LISTEN_FDS` is at least 1. The variables are then
    /// unset, so that nothing this process starts takes the socket for its own.
    public static func takeListeningSocket() -> Int32? {
        defer { unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDS"); unsetenv("LISTEN_FDNAMES") }
        guard let pid = environment("LISTEN_PID").flatMap(Int32.init), pid == getpid(),
              let count = environment("LISTEN_FDS").flatMap(Int.init), count >= 1 else { return nil }
        let fd: Int32 = 3
        var status = stat()
        guard fstat(fd, &status) == 0, (UInt32(status.st_mode) & UInt32(S_IFMT)) == UInt32(S_IFSOCK) else { return nil }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return fd
    }

    /// Tells systemd `state` (`READY=1`, `STOPPING=1`, `RELOADING=1`, `STATUS=…`) when it
    /// asked to be told (`NOTIFY_SOCKET`, as for `Type=notify`); does nothing otherwise.
    public static func notify(_ state: String) {
        guard let path = environment("NOTIFY_SOCKET"), !path.isEmpty, let fd = UnixSocket.make(datagram: true) else { return }
        defer { close(fd) }
        let message = Array(state.utf8)
        _ = UnixSocket.withAddress(path) { address, length in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
    }

    private static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}
