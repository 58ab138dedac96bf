import CloakroomCrypto

/// A key file: exactly 32 random bytes, readable by its owner only.
///
/// The bytes are the key-encryption key of a keyslot directly; no KDF is needed for
/// full-entropy keys. A key file shared with group or others is refused, as ssh refuses
/// such private keys: the vault would then be only as private as the least careful account.
public struct KeyFile: Sendable {
    /// The length of a key file, in bytes: a full-entropy 256-bit key.
    public static let byteCount = 32

    /// Where the key was read from, for messages.
    public let path: String
    let key: SealingKey

    /// Reads the key file at `path`.
    /// - Throws: `VaultError` `.notFound`, `.permissions` (shared with others, owned by another
    ///   user, not a regular file), `.invalidInput` (not 32 bytes), `.io`.
    public static func load(from path: String) throws -> KeyFile {
        let (fd, status): (Int32, FileSystem.Status)
        do {
            (fd, status) = try FileSystem.openRegularFile(path, what: "key file \(path)")
        } catch let error as VaultError where error.code == .notFound {
            throw VaultError(.notFound, "key file \(path) does not exist.", next: [.checkKeyFilePath])
        }
        defer { FileSystem.closeFile(fd) }
        guard status.isOwnedByUserOrRoot else {
            throw VaultError(.permissions, "key file \(path) belongs to another user (uid \(status.owner)); a key file must be your own, as ssh requires of private keys. Copy it and chmod 600 the copy.")
        }
        guard !status.isSharedWithOthers else {
            throw VaultError(.permissions, "key file \(path) is accessible by group or others (mode \(status.modeString)); run: chmod 600 \(path)")
        }
        guard status.size == byteCount else {
            throw VaultError(.invalidInput, "\(path) is not a Cloakroom key file: it holds \(status.size) bytes, a key file holds exactly \(byteCount).")
        }
        var count = 0
        let bytes = try SecureBytes(count: byteCount) { buffer in
            count = try FileSystem.readUpTo(fd, into: buffer, what: "key file \(path)")
        }
        guard count == byteCount else {
            throw VaultError(.io, "key file \(path) changed while it was read; try again.")
        }
        return KeyFile(path: path, key: SealingKey(bytes))
    }

    /// `$XDG_CONFIG_HOME/cloakroom/vault.key`, or `~/.config/cloakroom/vault.key`: where `cloak
    /// init` puts the key file when given none, and where cloak looks when told of none.
    public static func defaultPath(environment: (String) -> String?) -> String {
        if let config = environment("XDG_CONFIG_HOME"), config.hasPrefix("/") {
            return config + "/cloakroom/vault.key"
        }
        return (environment("HOME") ?? "/root") + "/.config/cloakroom/vault.key"
    }

    /// A key read from a file descriptor: exactly 32 raw bytes, or 64 hex digits (what
    /// `openssl rand -hex 32` prints; one trailing newline allowed). For CI, whose secret
    /// store hands a value to a step: a descriptor is read once and is gone, where an environment
    /// variable would be inherited by every child and readable in /proc/PID/environ.
    /// - Throws: `VaultError.invalidInput` for anything else.
    public static func read(fromDescriptor fd: Int32) throws -> KeyFile {
        let what = "the key on file descriptor \(fd)"
        let bytes = try SecureInput.bytes(from: fd, limit: 2 * byteCount + 2, what: what, trimmingNewline: false)
        let source = "file descriptor \(fd)"
        if bytes.count == byteCount { return KeyFile(path: source, key: SealingKey(bytes)) }
        let key = try bytes.withUnsafeBytes { text -> SecureBytes? in
            var digits = text.count
            if digits > 0 && text[digits - 1] == UInt8(ascii: "\n") { digits -= 1 }
            if digits > 0 && text[digits - 1] == UInt8(ascii: "\r") { digits -= 1 }
            guard digits == 2 * byteCount else { return nil }
            func nibble(_ c: UInt8) -> UInt8? {
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
                default: nil
                }
            }
            var valid = true
            let key = SecureBytes(count: byteCount) { out in
                for i in 0..<byteCount {
                    guard let high = nibble(text[2 * i]), let low = nibble(text[2 * i + 1]) else { valid = false; return }
                    out[i] = high << 4 | low
                }
            }
            return valid ? key : nil
        }
        guard let key else {
            throw VaultError(.invalidInput, "\(source) holds \(bytes.count) bytes: a key is exactly \(byteCount) raw bytes or \(2 * byteCount) hex digits (openssl rand -hex 32).")
        }
        return KeyFile(path: source, key: SealingKey(key))
    }

    /// Writes a new key file of 32 random bytes at `path` with mode 0600, creating its missing
    /// directories with mode 0700 (as the vault's are).
    /// - Throws: `VaultError` `.alreadyExists` when something is at `path`; `.permissions`, `.io`.
    public static func create(at path: String) throws -> KeyFile {
        let key = SealingKey.random()
        try FileSystem.createDirectories(FileSystem.parent(of: path))
        let fd = try FileSystem.createExclusive(path, mode: 0o600)
        defer { FileSystem.closeFile(fd) }
        do {
            try key.bytes.withUnsafeBytes { try FileSystem.writeAll(fd, $0, path: path) }
        } catch {
            FileSystem.remove(path)  // a short key file must never be mistaken for a real one
            throw error
        }
        return KeyFile(path: path, key: key)
    }

    /// The key file at `path`, created first (as `create(at:)` does) when nothing is there.
    /// - Throws: what `load(from:)` and `create(at:)` throw.
    public static func loadOrCreate(at path: String) throws -> (file: KeyFile, created: Bool) {
        do {
            return (try create(at: path), true)
        } catch let error as VaultError where error.code == .alreadyExists {
            return (try load(from: path), false)
        }
    }

    /// A short public name for this key, shown by `cloak keyslot list` so that a slot can be
    /// matched to its file. A hash of a full-entropy key reveals nothing usable about it.
    public var fingerprint: String { fingerprintBytes.hex }

    /// The 8 bytes `fingerprint` spells in hex; a key-file bundle's header holds them.
    var fingerprintBytes: [UInt8] {
        Array(Sodium.digest(Array("cloakroom key-file fingerprint".utf8), keyedBy: key.bytes, length: 16).prefix(8))
    }
}
