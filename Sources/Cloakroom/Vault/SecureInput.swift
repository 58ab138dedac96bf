public import CloakroomCrypto

/// Reads secrets and passphrases straight from a file descriptor into secure memory, so the
/// clear text never passes through a Swift `String` or an array that outlives the read.
package enum SecureInput {
    /// Reads `fd` to its end (or, with `line`, to the first newline: what a terminal prompt sends)
    /// and removes one trailing `\n` or `\r\n`.
    /// - Throws: `VaultError.invalidInput` when more than `limit` bytes arrive; `.io` on a read error.
    package static func bytes(from fd: Int32, limit: Int, what: String, line: Bool = false, trimmingNewline: Bool = true) throws -> SecureBytes {
        var length = 0
        let buffer = try SecureBytes(count: limit + 1) { out in
            if line {
                while length < out.count {
                    let n = FileSystem.readByte(fd, into: out.baseAddress! + length)
                    if n < 0 { throw SecureInput.readError(fd, what: what) }
                    if n == 0 { break }
                    length += 1
                    if out[length - 1] == UInt8(ascii: "\n") { break }
                }
            } else {
                do { length = try FileSystem.readUpTo(fd, into: out, what: what) } catch { throw SecureInput.readError(fd, what: what, otherwise: error) }
            }
        }
        guard length <= limit else {
            // (The buffer is released, zeroed, by SecureBytes' deinit on this path too.)
            throw VaultError(.invalidInput, "\(what) is longer than \(limit) bytes; nothing was stored.")
        }
        return buffer.withUnsafeBytes { bytes in
            var end = length
            if trimmingNewline && end > 0 && bytes[end - 1] == UInt8(ascii: "\n") {
                end -= 1
                if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
            }
            return SecureBytes(count: end) { out in
                if end > 0 { out.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[..<end])) }
            }
        }
    }
}

extension SecureInput {
    /// A descriptor that is not open, or a directory given as input, is a mistake in how cloak
    /// was called (exit 2), not a failing disk; anything else is an I/O error.
    static func readError(_ fd: Int32, what: String, otherwise: (any Error)? = nil) -> any Error {
        let code = FileSystem.lastError
        switch FileSystem.readMistake(code) {
        case .notOpen:
            return VaultError(.invalidInput, "cannot read \(what): file descriptor \(fd) is not open. Open it in the shell that runs cloak, e.g. `3< FILE` for fd 3.")
        case .directory:
            return VaultError(.invalidInput, "cannot read \(what): \(fd == 0 ? "standard input" : "file descriptor \(fd)") is a directory, not a file or pipe.")
        case nil:
            return otherwise ?? VaultError(.io, "cannot read \(what): \(FileSystem.errorMessage(code))")
        }
    }
}

extension Passphrase {
    /// The longest passphrase accepted.
    public static let maximumLength = 1024

    /// Reads a passphrase from `fd` up to its first newline (which is removed, as is a `\r`
    /// before it), from a terminal, a pipe or a file alike: a passphrase typed at a terminal never
    /// holds one, and a file written as it would be typed twice (`printf 'p\np\n'`) once stored
    /// "p\np" as the passphrase, which the real one then did not open. The rest is left unread.
    /// - Throws: `VaultError.invalidInput` when it is empty or too long.
    public static func read(from fd: Int32) throws -> Passphrase {
        let bytes = try SecureInput.bytes(from: fd, limit: maximumLength, what: "the passphrase", line: true)
        guard bytes.count > 0 else { throw VaultError(.invalidInput, "the passphrase is empty.") }
        return Passphrase(bytes)
    }
}
