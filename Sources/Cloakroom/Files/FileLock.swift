#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An exclusive lock shared by every process on the machine: `flock(2)` on a file.
///
/// The kernel drops the lock when its holder exits, however it exits, so a `cloak` killed while
/// refreshing a token never blocks the next one. Lock files are never deleted: deleting one while
/// another process waits on it would let two processes hold "the" lock at once.
struct FileLock: ~Copyable {
    private let fd: Int32

    /// Waits (polling, so no thread is blocked) until the lock at `path` is ours, or `deadline` passes.
    ///
    /// - Parameter readOnlyVault: the vault beside the lock can only be read (a read-only mount).
    ///   An existing lock file is still taken (`flock` needs no write access); a missing one cannot
    ///   be made, and there is nothing to share it with either — no process can cache a token in
    ///   that vault — so the caller goes on unlocked.
    /// - Returns: `nil` when the deadline passed first.
    static func acquire(_ path: String, until deadline: ContinuousClock.Instant, readOnlyVault: Bool = false) async throws -> FileLock? {
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0, readOnlyVault {
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return FileLock(fd: -1) }
        }
        guard fd >= 0 else { throw FileSystem.failure(errno, "cannot open lock file \(path)") }
        var pause = Duration.milliseconds(2)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now + pause < deadline else {
                close(fd)
                return nil
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
        return FileLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    deinit {
        guard fd >= 0 else { return }
        flock(fd, LOCK_UN)
        close(fd)
    }
}
