#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An SQLite vault's locks: `flock(2)` on files in `VAULT.locks/` beside the vault file, so
/// every process on the machine shares them and the kernel releases a dead holder's.
///
/// Lock files are never deleted: deleting one while another process waits on it would let two
/// processes hold "the" lock at once.
struct SQLiteLocks: VaultLocks {
    let directory: String
    let readOnlyVault: Bool
    let reporting: @Sendable (StoreError) -> any Error

    func prepare() throws {
        // The vault's own directory exists (the vault file is in it): only the last step is made.
        guard mkdir(directory, 0o700) != 0 else { return }
        let code = errno
        guard code != EEXIST, !readOnlyVault else { return }
        throw reporting(StoreError(kind: .system(code: code, what: "cannot create directory \(directory)"), path: directory,
                                   message: String(cString: strerror(code))))
    }

    func acquire(_ name: String, until deadline: ContinuousClock.Instant) async throws -> VaultLock? {
        let path = directory + "/" + name + ".lock"
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        if fd < 0, readOnlyVault {
            // An existing lock file is still taken (`flock` needs no write access); a missing one
            // cannot be made on a read-only vault, and there is nobody to share it with.
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return VaultLock {} }
        }
        guard fd >= 0 else {
            let code = errno
            throw reporting(StoreError(kind: .system(code: code, what: "cannot open lock file \(path)"), path: path,
                                       message: String(cString: strerror(code))))
        }
        var pause = Duration.milliseconds(2)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            guard errno == EWOULDBLOCK || errno == EINTR, ContinuousClock.now + pause < deadline else {
                close(fd)
                return nil
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
        return VaultLock { [fd] in
            flock(fd, LOCK_UN)
            close(fd)
        }
    }
}
