#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The few POSIX file operations the vault needs, with errors that name the path and say
/// what to do. Foundation's FileManager cannot create a file atomically with mode 0600.
package enum FileSystem {
    package struct Status {
        package var mode: UInt32  // permission bits only
        package var size: Int
        package var isRegularFile: Bool
        package var isDirectory: Bool
        package var owner: UInt32
        /// `regular file`, `directory`, `FIFO`, …: what a message calls it.
        package var kind: String
        package var isSocket: Bool { kind == "socket" }
    }

    /// `nil` when nothing is at `path`.
    package static func status(of path: String) -> Status? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Status(info)
    }

    package static func errorMessage(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    /// Creates the missing directories of `path` with `mode`; existing ones are left as they are.
    package static func createDirectories(_ path: String, mode: UInt32 = 0o700) throws {
        if path.isEmpty || status(of: path)?.isDirectory == true { return }
        try createDirectories(parent(of: path), mode: mode)
        guard mkdir(path, mode_t(mode)) == 0 || errno == EEXIST else {
            throw failure(errno, "cannot create directory \(path)")
        }
    }

    /// Creates `path` with `mode`; fails if anything is there already.
    static func createExclusive(_ path: String, mode: UInt32 = 0o600) throws -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode))
        guard fd >= 0 else { throw failure(errno, "cannot create \(path)") }
        return fd
    }

    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw failure(errno, "cannot write \(path)") }
            offset += n
        }
        guard fsync(fd) == 0 else { throw failure(errno, "cannot write \(path)") }
    }

    /// Reads up to `limit` bytes from `fd` into `buffer`; returns how many were read.
    static func readUpTo(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, what: String) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = read(fd, buffer.baseAddress! + total, buffer.count - total)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw VaultError(.io, "cannot read \(what): \(errorMessage())") }
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Opens the regular file at `path` for reading, and says what it is.
    ///
    /// `open` blocks on a FIFO until a writer comes (a key file or bundle given as a named pipe
    /// hung cloak forever), so the file is opened non-blocking, checked with `fstat` on the
    /// descriptor (no race with a rename), refused unless it is a regular file, and only then
    /// switched back to blocking reads. The caller closes the descriptor.
    /// - Throws: `VaultError` `.notFound`, `.permissions` (not a regular file, unreadable), `.io`.
    static func openRegularFile(_ path: String, what: String) throws -> (fd: Int32, status: Status) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw failure(errno, "cannot read \(what)") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            close(fd)
            throw failure(code, "cannot read \(what)")
        }
        let status = Status(info)
        guard status.isRegularFile else {
            close(fd)
            throw VaultError(.permissions, "\(what) is a \(status.kind), not a regular file; give the path of a file.")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return (fd, status)
    }

    /// The whole of the regular file at `path`, refused unread when larger than `limit` bytes.
    /// - Throws: `VaultError` `.notFound`, `.permissions` (not a regular file), `.invalidInput`
    ///   (too large), `.io`.
    package static func readWholeFile(_ path: String, limit: Int, what: String) throws -> [UInt8] {
        let (fd, status) = try openRegularFile(path, what: what)
        defer { close(fd) }
        guard status.size <= limit else {
            throw VaultError(.invalidInput, "\(what) is \(status.size >> 20) MiB, more than the \(limit >> 20) MiB accepted.")
        }
        // One byte more than stat said, to notice a file that grows while it is read.
        var bytes = [UInt8](repeating: 0, count: status.size + 1)
        let count = try bytes.withUnsafeMutableBytes { try readUpTo(fd, into: $0, what: what) }
        guard count == status.size else { throw VaultError(.io, "\(what) changed while it was read; try again.") }
        bytes.removeLast()
        return bytes
    }

    /// Writes `bytes` to `path` with mode 0600 so that `path` holds either nothing (or what it
    /// held) or all of `bytes`, never a part: a temporary file in the same directory is written
    /// and synced, then linked into place (refusing an existing file) or, when `replacing`,
    /// renamed over it; the directory is synced so the name survives a power cut.
    /// - Throws: `VaultError` `.alreadyExists` (not `replacing`), `.notFound`, `.permissions`, `.io`.
    /// - Parameter owner: who the file should belong to (root only: `fchown` before the rename).
    package static func writeAtomically(_ path: String, _ bytes: [UInt8], replacing: Bool, owner: (uid: UInt32, gid: UInt32)? = nil) throws {
        let directory = parent(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory)/.\(name).XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }  // mode 0600
        guard fd >= 0 else { throw failure(errno, "cannot create a file in \(directory)") }
        defer { close(fd) }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            if let owner, fchown(fd, uid_t(owner.uid), gid_t(owner.gid)) != 0 {
                throw failure(errno, "cannot give \(path) to uid \(owner.uid)")
            }
            try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }  // fsyncs
            if replacing {
                guard rename(temporary, path) == 0 else { throw failure(errno, "cannot write \(path)") }
            } else {
                guard link(temporary, path) == 0 else { throw failure(errno, "cannot write \(path)") }
                unlink(temporary)
            }
        } catch {
            unlink(temporary)
            throw error
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The names in `directory`, without `.` and `..`, in no particular order.
    static func names(in directory: String) throws -> [String] {
        guard let handle = opendir(directory) else { throw failure(errno, "cannot read the directory \(directory)") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Whether `path` itself is a symbolic link (not what it points to).
    package static func isSymbolicLink(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 && (UInt32(info.st_mode) & UInt32(S_IFMT)) == UInt32(S_IFLNK)
    }

    package static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    package static func remove(_ path: String) { unlink(path) }

    /// Environment variable `name`, read when asked (no copy of the whole environment).
    package static func environment(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    static func closeFile(_ fd: Int32) { close(fd) }

    /// Reads at most one byte of `fd` into `byte`, trying again when a signal interrupts:
    /// 1, 0 at the end, or -1 with `lastError` saying why.
    static func readByte(_ fd: Int32, into byte: UnsafeMutableRawPointer) -> Int {
        while true {
            let count = read(fd, byte, 1)
            if count < 0 && errno == EINTR { continue }
            return count
        }
    }

    /// The error of the last call that failed (`errno`).
    static var lastError: Int32 { errno }

    /// What a failed read means for the user: a descriptor that is not open, or a directory.
    enum ReadMistake { case notOpen, directory }

    static func readMistake(_ code: Int32) -> ReadMistake? {
        switch code {
        case EBADF: .notOpen
        case EISDIR: .directory
        default: nil
        }
    }

    /// Whether `name` matches the shell glob `pattern` (`fnmatch(3)`, no flags).
    package static func matches(_ name: String, glob pattern: String) -> Bool { fnmatch(pattern, name, 0) == 0 }

    /// The effective user's name, or its uid when it has none (a container's arbitrary uid).
    static let userName: String = {
        let uid = geteuid()
        if let entry = getpwuid(uid), let name = entry.pointee.pw_name { return String(cString: name) }
        return String(uid)
    }()

    /// This machine's host name, or "unknown".
    static let hostName: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "unknown" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Whether this process may write `path` (what `access` says: root passes, except on a
    /// read-only file system, where `access` says EROFS even to root).
    static func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    /// Whether `path` lies on a file system mounted read-only.
    static func isReadOnlyFileSystem(_ path: String) -> Bool {
        var info = statvfs()
        return statvfs(path, &info) == 0 && (info.f_flag & UInt(ST_RDONLY)) != 0
    }

    /// Maps an errno to the error code a user acts on.
    package static func failure(_ code: Int32, _ what: String) -> VaultError {
        switch code {
        case EACCES, EPERM, EROFS:
            return VaultError(.permissions, "\(what): \(errorMessage(code)). Choose a location you can write to, or fix its permissions.")
        case ENOSPC, EDQUOT:
            return VaultError(.io, "\(what): \(errorMessage(code)). Free some disk space and try again; nothing was changed.")
        case EEXIST:
            return VaultError(.alreadyExists, "\(what): it exists already.")
        case ENOENT, ENOTDIR:
            return VaultError(.notFound, "\(what): \(errorMessage(code)).")
        case ELOOP:
            return VaultError(.io, "\(what): a symbolic link on the way loops (\(errorMessage(code))). Fix the link.")
        default:
            return VaultError(.io, "\(what): \(errorMessage(code)).")
        }
    }
}

extension FileSystem.Status {
    init(_ info: stat) {
        mode = UInt32(info.st_mode) & 0o7777
        size = Int(info.st_size)
        isRegularFile = (UInt32(info.st_mode) & UInt32(S_IFMT)) == UInt32(S_IFREG)
        isDirectory = (UInt32(info.st_mode) & UInt32(S_IFMT)) == UInt32(S_IFDIR)
        owner = UInt32(info.st_uid)
        switch UInt32(info.st_mode) & UInt32(S_IFMT) {
        case UInt32(S_IFREG): kind = "regular file"
        case UInt32(S_IFDIR): kind = "directory"
        case UInt32(S_IFIFO): kind = "FIFO (named pipe)"
        case UInt32(S_IFSOCK): kind = "socket"
        case UInt32(S_IFCHR), UInt32(S_IFBLK): kind = "device"
        default: kind = "special file"
        }
    }

    /// Owned by this process's user, or by root: what ssh accepts for a private key. A file
    /// someone else owns could be swapped or read by them whatever its mode says.
    var isOwnedByUserOrRoot: Bool { owner == geteuid() || owner == 0 }

    /// Readable, writable or executable by group or others.
    var isSharedWithOthers: Bool { mode & 0o077 != 0 }

    var modeString: String { "0" + String(mode, radix: 8) }
}
