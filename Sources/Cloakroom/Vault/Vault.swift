import CloakroomStore
#if PostgreSQL
import CloakroomPostgres
#endif
// Re-exported: `Passphrase`, `Argon2Parameters` and `CoreDumps` are part of this library's API,
// and a user should not need to know which target holds the cryptography.
@_exported public import CloakroomCrypto
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A Cloakroom vault: one SQLite file of realms, clients and their sealed secrets.
///
/// An opened `Vault` reads metadata (names, URLs, keyslots) without any key: an attacker with
/// the file can read those too, so hiding them behind a key would protect nothing. Everything
/// that changes the vault, and everything secret, needs an ``UnlockedVault``.
public final class Vault {
    /// The vault file.
    public let path: String
    /// Where the rows are: the domain knows the store only by its protocol.
    let store: any VaultStore
    /// 16 random bytes, bound into every sealed value so that nothing moves between vaults.
    let vaultID: [UInt8]
    let clock: @Sendable () -> Date

    init(path: String, store: any VaultStore, vaultID: [UInt8], clock: @escaping @Sendable () -> Date) {
        self.path = path
        self.store = store
        self.vaultID = vaultID
        self.clock = clock
    }

    var now: Int64 { clock().unixSeconds }

    /// Long enough for another `cloak` to finish a write (an Argon2id unlock happens before the
    /// lock is taken), short enough that a stuck process is reported.
    public static let defaultBusyTimeout: Duration = .seconds(10)

    /// `$XDG_DATA_HOME/cloakroom/vault.db`, or `~/.local/share/cloakroom/vault.db`.
    public static func defaultPath(environment: [String: String]) -> String {
        defaultPath { environment[$0] }
    }

    /// The same, reading each variable through `environment` (such as a `getenv` wrapper: a
    /// short-lived process need not copy its whole environment into a dictionary first).
    public static func defaultPath(environment: (String) -> String?) -> String {
        if let data = environment("XDG_DATA_HOME"), data.hasPrefix("/") {
            return data + "/cloakroom/vault.db"
        }
        return (environment("HOME") ?? "/root") + "/.local/share/cloakroom/vault.db"
    }

    // MARK: Opening

    /// Opens an existing vault, applying any migrations this binary has and the vault lacks.
    /// - Throws: `VaultError` `.notFound` (no file), `.notAVault`, `.newerSchema`, `.corrupted`,
    ///   `.permissions`, `.busy`.
    ///
    /// - Parameter path: the vault file.
    /// - Parameter busyTimeout: how long to wait for another process that holds the write lock
    ///   before failing with `.busy`.
    /// - Parameter clock: the time now, for timestamps and token expiry; tests inject their own.
    public static func open(
        at path: String, busyTimeout: Duration = defaultBusyTimeout, clock: @escaping @Sendable () -> Date = { Date() }
    ) throws -> Vault {
        if isServerLocation(path) {
            let store = try serverStore(path, busyTimeout: busyTimeout, now: clock().unixSeconds)
            return Vault(path: path, store: store, vaultID: try store.identity(), clock: clock)
        }
        guard let status = FileSystem.status(of: path) else {
            throw VaultError(.notFound, "no vault at \(path).", next: [.createVault])
        }
        guard status.isRegularFile, try hasSQLiteHeader(path) else {
            throw VaultError(.notAVault, "\(path) is not a Cloakroom vault.", next: [.checkVaultPath])
        }
        let store = try SQLiteVaultStore.open(path: path, mode: connectionMode(path), busyTimeout: busyTimeout,
                                              now: clock().unixSeconds, reporting: VaultError.init)
        return Vault(path: path, store: store, vaultID: try store.identity(), clock: clock)
    }

    /// Creates a vault at `path` (file 0600, missing directories 0700) whose first keyslot is `slot`.
    /// - Throws: `VaultError` `.alreadyExists`, `.permissions`, `.io`, `.invalidInput`.
    public static func create(
        at path: String, firstKeyslot slot: NewKeyslot, clock: @escaping @Sendable () -> Date = { Date() }
    ) throws -> UnlockedVault {
        let now = clock().unixSeconds
        return try makeStore(at: path, now: now) { store in
            try initialise(Vault(path: path, store: store, vaultID: Sodium.randomBytes(16), clock: clock), firstKeyslot: slot, now: now)
        }
    }

    /// A new, empty store at `path` (the schema, no identity yet), given to `fill`, which runs in
    /// the store's transaction: when `fill` (or anything before it) fails, nothing is left behind.
    /// - Throws: `VaultError` `.alreadyExists`, `.permissions`, `.io`, `.invalidInput`.
    static func makeStore<T>(at path: String, now: Int64, _ fill: (any VaultStore) throws -> T) throws -> T {
        if isServerLocation(path) {
            #if PostgreSQL
            // The schema, its tables and what `fill` writes in one transaction (PostgreSQL's DDL
            // is transactional): an `init` that fails half-way leaves nothing behind, as a vault
            // file that failed is removed below.
            return try PostgresVaultStore.create(url: path, busyTimeout: defaultBusyTimeout, now: now, environment: FileSystem.environment,
                                                 reporting: VaultError.init) { try fill($0) }
            #else
            _ = try serverStore(path, busyTimeout: defaultBusyTimeout, now: now)
            #endif
        }
        if FileSystem.status(of: path) != nil {
            throw VaultError(.alreadyExists, "a vault (or another file) exists at \(path) already. Use it, or choose another path.", next: [.chooseVaultPath])
        }
        let directory = FileSystem.parent(of: path)
        try FileSystem.createDirectories(directory)
        guard FileSystem.isWritable(directory) else {
            throw VaultError(.permissions, "cannot create a vault in \(directory): the directory is not writable.", next: [.chooseVaultPath])
        }
        // Created here with 0600 before SQLite sees it, so it never exists with the umask's mode.
        let fd = try FileSystem.createExclusive(path, mode: 0o600)
        FileSystem.closeFile(fd)
        do {
            let store = try SQLiteVaultStore.create(path: path, busyTimeout: defaultBusyTimeout, now: now, reporting: VaultError.init)
            return try store.write { try fill(store) }
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] { FileSystem.remove(path + suffix) }
            throw error
        }
    }

    /// A new vault's identity, first keyslot and audit log, in one transaction (of its own, or
    /// the one `makeStore` opened).
    private static func initialise(_ vault: Vault, firstKeyslot slot: NewKeyslot, now: Int64) throws -> UnlockedVault {
        let key = VaultKey.random()
        return try vault.store.write {
            try vault.store.createIdentity(vault.vaultID, createdAt: now)
            let slotID = try vault.insertKeyslot(slot, wrapping: key)
            let unlocked = UnlockedVault(vault: vault, key: key, openedSlots: [OpenedSlot(id: slotID, kek: slot.kek)])
            try unlocked.startAuditLog()
            return unlocked
        }
    }

    /// The SQL that lets database role `role` use this vault and nothing more: for a vault on a
    /// database server, run by its schema's owner; empty for a vault file.
    public func grants(forRuntimeRole role: String) -> [String] {
        #if PostgreSQL
        if let store = store as? PostgresVaultStore { return store.runtimeGrants(role: role) }
        #endif
        return []
    }

    /// Whether `location` names a vault on a database server (`postgresql://…`) rather than a file.
    public static func isServerLocation(_ location: String) -> Bool {
        StoreLocation.isPostgreSQL(location)
    }

    /// The store of a vault on a database server: PostgreSQL, when this build has it.
    private static func serverStore(_ location: String, busyTimeout: Duration, now: Int64) throws -> any VaultStore {
        #if PostgreSQL
        return try PostgresVaultStore.open(url: location, busyTimeout: busyTimeout, now: now, environment: FileSystem.environment,
                                           reporting: VaultError.init)
        #else
        throw VaultError(.invalidInput, "this build of Cloakroom cannot keep a vault in PostgreSQL: it was built without the PostgreSQL trait.",
                         next: [.buildWithPostgreSQL])
        #endif
    }

    /// A connection that can write when this process can write the file and its directory (SQLite
    /// creates `-wal`, `-shm` and journal files beside it); otherwise one that reads, so that
    /// listing clients and serving cached tokens work from a read-only mount or directory: with
    /// SQLite's locks where another user may be writing, without them (`immutable`) on a
    /// read-only file system, where nobody can be and WAL's shared memory cannot be created.
    private static func connectionMode(_ path: String) -> Database.Mode {
        let directory = FileSystem.parent(of: path)
        if FileSystem.isWritable(path) && FileSystem.isWritable(directory) { return .readWrite }
        return FileSystem.isReadOnlyFileSystem(directory) ? .immutable : .readOnly
    }

    /// Whether the file at `path` starts like an SQLite database (a vault, most likely).
    static func hasSQLiteHeader(_ path: String) throws -> Bool {
        let (fd, _) = try FileSystem.openRegularFile(path, what: path)
        defer { FileSystem.closeFile(fd) }
        var header = [UInt8](repeating: 0, count: 16)
        let count = try header.withUnsafeMutableBytes { try FileSystem.readUpTo(fd, into: $0, what: path) }
        return count == 16 && header == Array("SQLite format 3\0".utf8)
    }

    // MARK: Unlocking

    /// Unlocks the vault with the first of `credentials` that opens a keyslot.
    ///
    /// With `all`, every credential is tried and every slot it opens is remembered (what
    /// `rekey` needs to re-wrap them); otherwise trying stops at the first success, so a
    /// second passphrase slot costs no Argon2id run.
    /// - Throws: `VaultError.cannotUnlock` when none opens a slot or none was given.
    public func unlock(with credentials: [VaultCredential], all: Bool = false) throws -> UnlockedVault {
        guard !credentials.isEmpty else {
            throw VaultError(.cannotUnlock, "the vault \(path) is locked.", next: [.giveVaultKey])
        }
        let slots = try storedKeyslots()
        var vaultKey: VaultKey?
        var opened: [OpenedSlot] = []
        var failures: [String] = []
        var tampered: [String] = []
        for credential in credentials {
            if vaultKey != nil && !all { break }
            let candidates = slots.filter { $0.kind == credential.kind }
            if candidates.isEmpty {
                failures.append("the vault has no \(credential.kind.rawValue) keyslot")
                continue
            }
            var matched = false
            for slot in candidates {
                guard let kek = try credential.keyEncryptionKey(for: slot) else { continue }
                guard let bytes = kek.open(slot.wrappedKey, authenticating: slotContext(slot.kind, slot.argon2, slot.salt)) else { continue }
                let key = VaultKey(key: SealingKey(bytes))
                if let known = vaultKey, !known.key.bytes.isEqual(to: key.key.bytes) {
                    throw VaultError(.corrupted, "keyslots of \(path) hold different vault keys; the vault was tampered with. Restore it from a backup.")
                }
                vaultKey = key
                opened.append(OpenedSlot(id: slot.id, kek: kek))
                matched = true
                break
            }
            if !matched {
                failures.append(credential.failureDescription)
                // A key file whose fingerprint a slot records is the right file for that slot (the
                // fingerprint is a 64-bit MAC of the file's key): if the slot does not open with it,
                // what the wrapped key is bound to (vault_id, kind, KDF settings) or the wrapped key
                // itself was changed. A passphrase leaves no such trace, so a passphrase slot edited
                // within plausible Argon2id bounds stays indistinguishable from a wrong passphrase.
                if case .keyFile(let file) = credential, let slot = candidates.first(where: { $0.fingerprint == file.fingerprint }) {
                    tampered.append("the key file \(file.path) is the one keyslot \(slot.id) was made for (its fingerprint \(file.fingerprint) matches), yet the slot does not open with it")
                }
            }
        }
        guard let vaultKey else {
            if !tampered.isEmpty {
                throw VaultError(.corrupted, "the vault \(path) was tampered with: \(tampered.joined(separator: "; ")). The vault's identity (vault_id) or the keyslot's settings were changed outside cloak. Restore the vault from a backup; nothing was changed.")
            }
            throw VaultError(.cannotUnlock, "cannot unlock the vault \(path): \(failures.joined(separator: "; ")). Nothing was changed.")
        }
        return UnlockedVault(vault: self, key: vaultKey, openedSlots: opened)
    }

    // MARK: Keyslot storage

    struct StoredKeyslot {
        var id: Int64
        var kind: Keyslot.Kind
        var argon2: Argon2Parameters?
        var salt: [UInt8]?
        var wrappedKey: SealedBox
        /// For key-file slots: the fingerprint of the key file it was made for.
        var fingerprint: String?
    }

    func storedKeyslots() throws -> [StoredKeyslot] {
        try store.keyslots.all().map { record in
            let argon2 = record.opsLimit.map { Argon2Parameters(opsLimit: UInt64($0), memLimit: Int(record.memLimit ?? 0)) }
            return StoredKeyslot(id: record.id, kind: Keyslot.Kind(rawValue: record.kind) ?? .keyFile, argon2: argon2, salt: record.salt,
                                 wrappedKey: record.wrappedKey, fingerprint: record.fingerprint)
        }
    }

    /// What a wrapped vault key is bound to: this vault, the slot's kind and its KDF settings.
    func slotContext(_ kind: Keyslot.Kind, _ argon2: Argon2Parameters?, _ salt: [UInt8]?) -> AssociatedData {
        var context = AssociatedData("cloakroom keyslot v1")
        context.append(bytes: vaultID)
        context.append(kind.rawValue)
        context.append(Int64(argon2?.opsLimit ?? 0))
        context.append(Int64(argon2?.memLimit ?? 0))
        context.append(bytes: salt ?? [])
        return context
    }

    /// Inserts a keyslot holding `key` sealed under the slot's KEK. Runs inside the caller's transaction.
    func insertKeyslot(_ slot: NewKeyslot, wrapping key: VaultKey) throws -> Int64 {
        let wrapped = slot.kek.seal(key.key.bytes, authenticating: slotContext(slot.kind, slot.argon2, slot.salt))
        return try store.keyslots.insert(KeyslotRecord(
            kind: slot.kind.rawValue, label: slot.label, fingerprint: slot.fingerprint, opsLimit: slot.argon2.map { Int64($0.opsLimit) },
            memLimit: slot.argon2.map { Int64($0.memLimit) }, salt: slot.salt, wrappedKey: wrapped, createdAt: now))
    }
}

/// A key-encryption key already proven to open one slot: what `rekey` re-wraps.
struct OpenedSlot {
    var id: Int64
    var kek: SealingKey
}

/// Something that unlocks a vault.
public enum VaultCredential: Sendable {
    /// A key file (services, CI, scripts).
    case keyFile(KeyFile)
    /// A passphrase (people), run through the Argon2id cost its slot records.
    case passphrase(Passphrase)

    var kind: Keyslot.Kind {
        switch self {
        case .keyFile: .keyFile
        case .passphrase: .passphrase
        }
    }

    var failureDescription: String {
        switch self {
        case .keyFile(let file): "the key file \(file.path) opens none of its keyslots (wrong key file?)"
        case .passphrase: "the passphrase opens none of its keyslots (wrong passphrase?)"
        }
    }

    /// The KEK this credential gives for `slot`, or `nil` when the slot cannot be tried.
    func keyEncryptionKey(for slot: Vault.StoredKeyslot) throws -> SealingKey? {
        switch self {
        case .keyFile(let file):
            return file.key
        case .passphrase(let passphrase):
            guard let argon2 = slot.argon2, let salt = slot.salt, salt.count == Argon2Parameters.saltCount else { return nil }
            guard argon2.isWithinLimits else {
                throw VaultError(.corrupted, "keyslot \(slot.id) has implausible Argon2id settings (\(argon2.opsLimit) passes, \(argon2.memLimit >> 20) MiB); the vault may have been tampered with.")
            }
            guard let kek = argon2.deriveKey(from: passphrase, salt: salt) else {
                throw VaultError(.io, "Argon2id needs \(argon2.memLimit >> 20) MiB of memory to unlock keyslot \(slot.id), and this machine could not provide it.")
            }
            return kek
        }
    }
}

/// A keyslot to be created: a credential with its public settings.
public struct NewKeyslot: Sendable {
    let kind: Keyslot.Kind
    let kek: SealingKey
    let label: String
    let fingerprint: String?
    let argon2: Argon2Parameters?
    let salt: [UInt8]?

    /// A slot opened by `file`.
    public static func keyFile(_ file: KeyFile, label: String = "") -> NewKeyslot {
        NewKeyslot(kind: .keyFile, kek: file.key, label: label, fingerprint: file.fingerprint, argon2: nil, salt: nil)
    }

    /// A slot opened by `passphrase` through Argon2id with `cost`.
    /// - Throws: `VaultError.invalidInput` for a passphrase shorter than `Passphrase.minimumLength`;
    ///   `.io` when the machine cannot spare Argon2id's memory.
    public static func passphrase(_ passphrase: Passphrase, cost: Argon2Parameters = .moderate, label: String = "") throws -> NewKeyslot {
        guard passphrase.count >= Passphrase.minimumLength else {
            throw VaultError(.invalidInput, "the passphrase is shorter than \(Passphrase.minimumLength) characters; choose a longer one.")
        }
        // Unlocking refuses a slot outside these limits as tampered with: one must never be made.
        guard cost.isWithinLimits else {
            throw VaultError(.invalidInput, "Argon2id with \(cost.opsLimit) passes over \(cost.memLimit >> 20) MiB is outside what a keyslot may use (at most 64 passes and 4 GiB, at least libsodium's minimum); choose another cost.")
        }
        let salt = Sodium.randomBytes(Argon2Parameters.saltCount)
        guard let kek = cost.deriveKey(from: passphrase, salt: salt) else {
            throw VaultError(.io, "Argon2id could not get \(cost.memLimit >> 20) MiB of memory.", next: [.lowerKeyDerivationCost])
        }
        return NewKeyslot(kind: .passphrase, kek: kek, label: label, fingerprint: nil, argon2: cost, salt: salt)
    }
}
