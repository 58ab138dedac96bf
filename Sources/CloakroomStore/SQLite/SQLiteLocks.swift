#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// An SQLite vault's locks, in `VAULT.locks/` beside the vault file, so that every process on
/// the machine shares them and the kernel releases a dead holder's.
///
/// On Linux every lock is one byte of one file, `VAULT.locks/vault.lock`, at an offset hashed
/// from the lock's name, taken with an open-file-description lock (`F_OFD_SETLK`). Each
/// acquisition opens the file anew: OFD locks of one open file description do not exclude each
/// other, those of two do, within a process as across processes. This replaced a `flock`ed file
/// per lock: creating a file per client and per token key cost a bulk rotation of fresh clients a
/// quarter of its CPU time (ext4 inode allocation), and the directory only ever grew. Two names
/// whose hashes collide (one chance in 2^62) would merely take turns.
///
/// Elsewhere (Darwin has no OFD locks, and classic POSIX locks all drop when any descriptor of
/// the file closes), each lock is a `flock`ed file of its own, never deleted: deleting one while
/// another process waits on it would let two processes hold "the" lock at once.
struct SQLiteLocks: VaultLocks {
    let directory: String
    let readOnlyVault: Bool
    /// Whether the connection sees what other processes commit after it opened. An immutable
    /// one (a read-only mount) does not: waiting for a writer's fetch could not show it the
    /// token, so its locks hold nothing and it does not wait.
    var seesOtherWriters = true
    let reporting: @Sendable (StoreError) -> any Error

    /// An `fcntl` unlock: nothing to wait for.
    var releaseWaitsForAnEventLoop: Bool { false }

    func prepare() throws {
        // The vault's own directory exists (the vault file is in it): only the last step is made.
        guard mkdir(directory, 0o700) != 0 else { return }
        let code = errno
        guard code != EEXIST, !readOnlyVault else { return }
        throw reporting(StoreError(kind: .system(code: code, what: "cannot create directory \(directory)"), path: directory,
                                   message: String(cString: strerror(code))))
    }

    func acquire(_ name: String, until deadline: ContinuousClock.Instant) async throws -> VaultLock? {
        guard seesOtherWriters else { return VaultLock {} }
        #if os(Linux)
        let path = directory + "/vault.lock"
        #else
        let path = directory + "/" + name + ".lock"
        #endif
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        var shared = false
        if fd < 0, readOnlyVault {
            // An existing lock file is still taken, for reading: a process that can only read
            // the vault (but sees others' commits) then waits while a writer fetches, and finds
            // the token it cached. A missing one cannot be made on a read-only vault, and there
            // is nobody to share it with.
            fd = open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 { return VaultLock {} }
            shared = true
        }
        guard fd >= 0 else {
            let code = errno
            throw reporting(StoreError(kind: .system(code: code, what: "cannot open lock file \(path)"), path: path,
                                       message: String(cString: strerror(code))))
        }
        let byte = Self.offset(of: name)
        var pause = Duration.milliseconds(2)
        while !Self.tryLock(fd, byte, shared: shared) {
            guard errno == EWOULDBLOCK || errno == EAGAIN || errno == EACCES || errno == EINTR,
                  ContinuousClock.now + pause < deadline else {
                close(fd)
                return nil
            }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(50))
        }
        return VaultLock { [fd] in
            Self.unlock(fd, byte)
            close(fd)
        }
    }

    /// Where lock `name` lives in the lock file: FNV-1a of its bytes, below 2^62.
    static func offset(of name: String) -> Int64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return Int64(hash >> 2)
    }

    #if os(Linux)
    // Glibc declares these only under _GNU_SOURCE, which Swift's Glibc module does not define.
    private static let setOFDLock: Int32 = 37  // F_OFD_SETLK

    /// A write lock; `shared`, a read lock (what a descriptor opened read-only can take), which
    /// excludes writers but not other readers.
    private static func tryLock(_ fd: Int32, _ byte: Int64, shared: Bool) -> Bool {
        var lock = flock(l_type: Int16(shared ? F_RDLCK : F_WRLCK), l_whence: Int16(SEEK_SET), l_start: __off_t(byte), l_len: 1, l_pid: 0)
        return fcntl(fd, setOFDLock, &lock) == 0
    }

    private static func unlock(_ fd: Int32, _ byte: Int64) {
        var lock = flock(l_type: Int16(F_UNLCK), l_whence: Int16(SEEK_SET), l_start: __off_t(byte), l_len: 1, l_pid: 0)
        _ = fcntl(fd, setOFDLock, &lock)
    }
    #else
    private static func tryLock(_ fd: Int32, _ byte: Int64, shared: Bool) -> Bool { flock(fd, LOCK_EX | LOCK_NB) == 0 }
    private static func unlock(_ fd: Int32, _ byte: Int64) { flock(fd, LOCK_UN) }
    #endif
}
