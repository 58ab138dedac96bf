public import CloakroomCrypto

/// What unlocks a bundle: its own passphrase or key file, never the vault's key.
public enum BundleCredential: Sendable {
    /// A passphrase, stretched with Argon2id (the cost is in the bundle's header).
    case passphrase(Passphrase)
    /// A key file of 32 random bytes; the bundle key is a subkey of it.
    case keyFile(KeyFile)
}

/// A bundle file as read from disk: checked for damage and its header parsed, but not yet opened.
///
/// ## Format, version 1
///
///     offset  size  field
///          0     8  magic "CLOAKBDL"
///          8     2  format version, big-endian (1)
///         10     1  key kind: 1 = passphrase, 2 = key file
///     passphrase (kind 1):
///         11     8  Argon2id opslimit, big-endian
///         19     8  Argon2id memlimit in bytes, big-endian
///         27    16  salt
///         43    16  key check: BLAKE2b-128 keyed by the bundle key over "cloakroom bundle key check v1"
///         59    24  nonce
///     key file (kind 2):
///         11     8  the key file's fingerprint (what `cloak init` and `cloak keyslot list` show)
///         19    24  nonce
///     then          ciphertext: XChaCha20-Poly1305-IETF of the whole payload (see `CredentialBundle`), with
///                   its 16-byte tag; associated data = every byte before it (header and nonce)
///     last    32    checksum: BLAKE2b-256 of every byte before it (unkeyed)
///
/// Every later version keeps the first 10 bytes and the trailing checksum, so any cloak can
/// say "newer format" about an intact bundle and "damaged" about a broken one.
///
/// Reading goes from the cheapest check to the dearest, and nothing inside the seal is parsed
/// before authentication: magic (else: not a bundle) → checksum (else: damaged or cut short,
/// with no Argon2id run) → version (else: newer) → the key check or key-file fingerprint (else:
/// wrong key) → one AEAD open of the whole payload (else: altered, by someone who recomputed
/// the checksum) → the payload's own structure. One flipped byte anywhere, or a file cut short
/// anywhere, fails as a whole.
public struct SealedBundle: Sendable {
    /// How a bundle is locked: what it takes to open it.
    public enum Lock: Sendable, Equatable {
        /// A passphrase, with the Argon2id cost the header asks for.
        case passphrase(Argon2Parameters)
        /// The fingerprint of the key file it was sealed with (hex, as `cloak init` shows it).
        case keyFile(fingerprint: String)
    }

    /// The format this cloak writes, and the newest it reads.
    public static let formatVersion: UInt16 = 1
    static let magic = Array("CLOAKBDL".utf8)
    static let checksumCount = 32
    /// Larger files are refused unread: 256 MiB holds over a million clients.
    static let maximumSize = 256 << 20

    /// Where it was read from, for messages.
    public let source: String
    /// What it takes to open it: so that the caller can ask for the right credential.
    public let lock: Lock
    /// Header and nonce: the associated data.
    private let header: [UInt8]
    private let nonce: [UInt8]
    private let salt: [UInt8]
    /// The passphrase key check, or the key file's fingerprint.
    private let check: [UInt8]
    private let ciphertext: [UInt8]

    /// Reads and checks the bundle at `path`.
    /// - Throws: `VaultError` `.notFound`; `.notAVault` (not a bundle); `.corrupted` (damaged or
    ///   cut short); `.newerSchema` (a newer format); `.io`, `.permissions`.
    public static func read(from path: String) throws -> SealedBundle {
        try SealedBundle(FileSystem.readWholeFile(path, limit: maximumSize, what: "the bundle \(path)"), source: path)
    }

    /// Parses a bundle's bytes; see the type's documentation for the order of the checks.
    init(_ bytes: [UInt8], source: String) throws {
        self.source = source
        func damaged(_ what: String) -> VaultError {
            VaultError(.corrupted, "the bundle \(source) is damaged: \(what). Copy it again from where it came from; nothing was imported.")
        }
        guard bytes.count >= Self.magic.count, bytes.starts(with: Self.magic) else {
            if Self.magic.starts(with: bytes) { throw damaged("it is cut short (\(bytes.count) bytes)") }
            throw VaultError(.notAVault, "\(source) is not a Cloakroom bundle (it does not start with one's marker). Check the file name; nothing was imported.")
        }
        let minimum = Self.magic.count + 3 + 8 + SealedBox.nonceCount + SealedBox.tagCount + Self.checksumCount
        guard bytes.count >= minimum else { throw damaged("it is cut short (\(bytes.count) bytes)") }
        let body = bytes.count - Self.checksumCount
        guard BundleKey.checksum(bytes[..<body]) == Array(bytes[body...]) else {
            throw damaged("its checksum does not match, so bytes were changed or it was cut short")
        }
        let version = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        guard version <= Self.formatVersion else {
            throw VaultError(.newerSchema, "the bundle \(source) was written by a newer Cloakroom (bundle format \(version); this Cloakroom reads format \(Self.formatVersion) and older). Upgrade Cloakroom to import it; nothing was imported.")
        }
        guard version >= 1 else { throw damaged("its format version is 0") }
        var offset = 11
        func field(_ count: Int) throws -> [UInt8] {
            guard body - offset >= count else { throw damaged("its header is cut short") }
            defer { offset += count }
            return Array(bytes[offset..<offset + count])
        }
        func number() throws -> UInt64 { try field(8).reduce(0) { $0 << 8 | UInt64($1) } }
        switch bytes[10] {
        case 1:
            let ops = try number(), mem = try number()
            let cost = Argon2Parameters(opsLimit: ops, memLimit: Int(clamping: mem))
            guard mem <= UInt64(Int.max), cost.isWithinBundleLimits else {
                throw VaultError(.corrupted, "the bundle \(source) asks for implausible Argon2id settings (\(ops) passes, \(mem >> 20) MiB); it was altered. Nothing was imported.")
            }
            lock = .passphrase(cost)
            salt = try field(BundleKey.saltCount)
            check = try field(BundleKey.checkCount)
        case 2:
            salt = []
            check = try field(8)
            lock = .keyFile(fingerprint: check.hex)
        case let kind:
            throw damaged("its key kind \(kind) is unknown")
        }
        nonce = try field(SealedBox.nonceCount)
        header = Array(bytes[..<offset])
        guard body - offset >= SealedBox.tagCount else { throw damaged("it is cut short") }
        ciphertext = Array(bytes[offset..<body])
    }

    /// Opens the bundle with `credential` and reads its contents.
    /// - Throws: `VaultError` `.cannotUnlock` (the wrong kind of key, or the wrong key);
    ///   `.corrupted` (altered, or malformed inside); `.io` (no memory for Argon2id).
    public func open(with credential: BundleCredential) throws -> CredentialBundle {
        let key: BundleKey
        switch (lock, credential) {
        case (.passphrase(let cost), .passphrase(let passphrase)):
            key = try BundleKey.derive(from: passphrase, cost: cost, salt: salt)
            guard key.matches(check: check) else {
                throw VaultError(.cannotUnlock, "the passphrase does not open the bundle \(source) (a wrong passphrase, or its header was altered). Nothing was imported.")
            }
        case (.keyFile(let fingerprint), .keyFile(let file)):
            guard file.fingerprintBytes == check else {
                throw VaultError(.cannotUnlock, "the key file \(file.path) (fingerprint \(file.fingerprint)) does not open the bundle \(source): it was sealed with the key file whose fingerprint is \(fingerprint). Nothing was imported.")
            }
            key = BundleKey.derive(from: file)
        case (.passphrase, .keyFile):
            throw VaultError(.cannotUnlock, "the bundle \(source) is sealed with a passphrase, not a key file. Nothing was imported.", next: [.giveBundlePassphrase])
        case (.keyFile(let fingerprint), .passphrase):
            throw VaultError(.cannotUnlock, "the bundle \(source) is sealed with a key file (fingerprint \(fingerprint)), not a passphrase. Nothing was imported.", next: [.giveBundleKeyFile])
        }
        guard let payload = key.open(ciphertext, header: header, nonce: nonce) else {
            throw VaultError(.corrupted, "the bundle \(source) was altered: the key is right, but its contents fail authentication (someone changed bytes and recomputed its checksum). Nothing was imported.")
        }
        return try CredentialBundle(decoding: payload, from: source)
    }

    /// The bytes of a bundle file holding `bundle`, sealed with `credential` (a passphrase
    /// through Argon2id at `cost`).
    /// - Throws: `VaultError.invalidInput` for a passphrase shorter than `Passphrase.minimumLength`;
    ///   `.io` when Argon2id cannot get its memory.
    static func seal(_ bundle: CredentialBundle, with credential: BundleCredential, cost: Argon2Parameters) throws -> [UInt8] {
        var header = magic
        header += [UInt8(formatVersion >> 8), UInt8(formatVersion & 0xff)]
        let key: BundleKey
        switch credential {
        case .passphrase(let passphrase):
            guard cost.isWithinBundleLimits else {
                throw VaultError(.invalidInput, "a bundle's Argon2id cost is at most libsodium's SENSITIVE (4 passes, 1 GiB): no cloak would open a costlier one.")
            }
            guard passphrase.count >= Passphrase.minimumLength else {
                throw VaultError(.invalidInput, "the bundle's passphrase is shorter than \(Passphrase.minimumLength) characters; choose a longer one (a bundle can be guessed at offline).")
            }
            let salt = BundleKey.randomSalt()
            key = try BundleKey.derive(from: passphrase, cost: cost, salt: salt)
            header.append(1)
            for number in [cost.opsLimit, UInt64(cost.memLimit)] {
                withUnsafeBytes(of: number.bigEndian) { header += $0 }
            }
            header += salt + key.check
        case .keyFile(let file):
            key = BundleKey.derive(from: file)
            header.append(2)
            header += file.fingerprintBytes
        }
        let nonce = BundleKey.randomNonce()
        header += nonce
        let payload = bundle.encoded()
        var file = header + key.seal(payload, header: header, nonce: nonce)
        file += BundleKey.checksum(file[...])
        return file
    }
}

extension CredentialBundle {
    /// Seals this bundle with `credential` and writes it to `path`, mode 0600, atomically: a
    /// temporary file beside it is written and synced, then moved into place, so `path` never
    /// holds part of a bundle. An existing file is replaced only when `replacing`.
    /// - Throws: `VaultError` `.alreadyExists` (and not `replacing`), `.invalidInput` (a short
    ///   passphrase), `.permissions`, `.io`.
    public func write(to path: String, sealedWith credential: BundleCredential, cost: Argon2Parameters = .moderate,
                      replacing: Bool = false) throws {
        if let existing = FileSystem.status(of: path) {
            guard replacing else {
                throw VaultError(.alreadyExists, "\(path) exists already; choose another file.", next: [.force(effect: "replace it")])
            }
            // --force aimed at the vault itself (or any database) would destroy it.
            if existing.isRegularFile, try Vault.hasSQLiteHeader(path) {
                throw VaultError(.conflict, "\(path) is an SQLite database (a vault?), not a bundle; it is never replaced by an export. Choose another file.")
            }
        }
        let bytes = try SealedBundle.seal(self, with: credential, cost: cost)
        try FileSystem.writeAtomically(path, bytes, replacing: replacing)
    }
}
