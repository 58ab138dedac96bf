internal import CSodium

/// A passphrase, held in secure memory. Prints as `<redacted>`.
public struct Passphrase: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    package let bytes: SecureBytes

    /// The shortest passphrase a new keyslot accepts. Argon2id slows guessing; it cannot save a short one.
    public static let minimumLength = 8

    package init(_ bytes: SecureBytes) { self.bytes = bytes }

    /// A passphrase from text. Its bytes are copied into secure memory; the `String` itself is not
    /// zeroed, so prefer `Passphrase.read(from:)`, which never makes one.
    public init(_ text: String) { bytes = SecureBytes(copying: Array(text.utf8)) }

    /// The passphrase's length in UTF-8 bytes.
    public var count: Int { bytes.count }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror with no children, so that `dump` and debuggers show nothing of the passphrase.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Constant-time equality, for "type it again" prompts.
    public func matches(_ other: Passphrase) -> Bool { bytes.isEqual(to: other.bytes) }
}

/// How expensive a passphrase keyslot makes each guess. Stored in the slot, so a vault can
/// raise the cost later by adding a new slot and removing the old one.
public struct Argon2Parameters: Sendable, Hashable, Codable {
    /// Passes over memory.
    public var opsLimit: UInt64
    /// Bytes of memory per guess.
    public var memLimit: Int

    /// A cost of `opsLimit` passes over `memLimit` bytes. Prefer `interactive`, `moderate` or
    /// `sensitive`; keep within libsodium's limits, 64 passes and 4 GiB: a vault reports a slot
    /// beyond them as tampered with, and a bundle refuses anything over `sensitive`.
    public init(opsLimit: UInt64, memLimit: Int) {
        self.opsLimit = opsLimit
        self.memLimit = memLimit
    }

    /// libsodium's INTERACTIVE: 2 passes, 64 MiB. For tests and throwaway vaults.
    public static let interactive = Argon2Parameters(opsLimit: 2, memLimit: 64 << 20)
    /// libsodium's MODERATE: 3 passes, 256 MiB; about a second here. The default.
    public static let moderate = Argon2Parameters(opsLimit: 3, memLimit: 256 << 20)
    /// libsodium's SENSITIVE: 4 passes, 1 GiB.
    public static let sensitive = Argon2Parameters(opsLimit: 4, memLimit: 1 << 30)

    /// Parameters read from a vault are trusted only within libsodium's own limits and a memory
    /// ceiling, so an edited slot cannot make `cloak` allocate without bound.
    package var isWithinLimits: Bool {
        opsLimit >= UInt64(crypto_pwhash_opslimit_min()) && opsLimit <= 64
            && memLimit >= Int(crypto_pwhash_memlimit_min()) && memLimit <= 4 << 30
    }

    /// What a bundle's header may ask for: no more than `--kdf sensitive` writes. A bundle comes
    /// from elsewhere, and a header demanding 64 passes over 4 GiB would tie up the machine for
    /// minutes before the passphrase could even be found wrong.
    package var isWithinBundleLimits: Bool {
        isWithinLimits && opsLimit <= Self.sensitive.opsLimit && memLimit <= Self.sensitive.memLimit
    }

    package static let saltCount = Int(crypto_pwhash_saltbytes())

    /// The key-encryption key for `passphrase`, or `nil` when the machine cannot spare the memory.
    package func deriveKey(from passphrase: Passphrase, salt: [UInt8]) -> SealingKey? {
        precondition(salt.count == Self.saltCount)
        var ok = false
        let key = SecureBytes(count: SealingKey.byteCount) { out in
            let status = passphrase.bytes.withUnsafeBytes { password in
                crypto_pwhash(
                    out.bindMemory(to: UInt8.self).baseAddress!, UInt64(out.count),
                    password.bindMemory(to: CChar.self).baseAddress!, UInt64(password.count),
                    salt, opsLimit, memLimit, crypto_pwhash_alg_argon2id13())
            }
            ok = status == 0
        }
        return ok ? SealingKey(key) : nil
    }
}
