import CloakroomStore

/// Everything that can go wrong with a vault, as one error type with a stable code.
///
/// The message says what failed; `next` says what would help. It never holds a secret, a
/// passphrase, key material or a response body that could contain one.
public struct VaultError: CloakroomError {
    /// A vault error's codes are the vault's part of ``ErrorCode``: `cannotUnlock` through `busy`.
    public typealias Code = ErrorCode

    /// What kind of failure it is: switch on this, not on `message`.
    public let code: Code
    /// What failed, for a person to read. The wording may change.
    public let message: String
    /// The realm concerned, when there is one.
    public let realm: Name?
    /// The client concerned, when there is one.
    public let client: ClientRef?
    /// What would help, in order.
    public let next: [NextStep]
    /// The lower-level error, for `--debug` output. Never carries secret material.
    public let underlying: (any Error & Sendable)?

    /// An error with `code` and `message` about `client` (or `realm`), what would help, and the
    /// lower-level error behind it, if any.
    public init(_ code: Code, _ message: String, client: ClientRef? = nil, realm: Name? = nil,
                next: [NextStep] = [], underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.client = client
        self.realm = realm ?? client?.realm
        self.next = next
        self.underlying = underlying
    }

    /// The same as `message`.
    public var description: String { message }
}

extension VaultError {
    /// What a failure of the store means for the vault, and what would help.
    init(_ error: StoreError) {
        let path = error.path
        let message = error.message
        switch error.kind {
        case .diskFull where Vault.isServerLocation(path):
            self.init(.io, "the database server of \(path) has run out of disk space (\(message)); free space on the server and try again (the vault keeps what it held before this write).", underlying: error)
        case .diskFull:
            self.init(.io, "the disk holding \(path) is full; free some space and try again (the vault keeps what it held before this write).", underlying: error)
        case .busy:
            // (The store's words say which lock: SQLite's "database is locked", or the server's
            // lock or statement timeout.)
            self.init(.busy, "the vault \(path) is locked by another process (\(message)); try again when it has finished.", underlying: error)
        case .corrupted:
            self.init(.corrupted, "the vault \(path) is damaged (\(message)). Restore it from a backup.", next: [.runCheckup], underlying: error)
        case .notADatabase:
            self.init(.notAVault, "\(path) is not a Cloakroom vault (not an SQLite database, or damaged beyond reading).", underlying: error)
        case .readOnly where Vault.isServerLocation(path):
            self.init(.permissions, "cannot write the vault \(path): \(message). The server accepts no writes (a standby?): point the URL at the primary, or list every host with target_session_attrs=read-write.", underlying: error)
        case .readOnly:
            self.init(.permissions, "cannot write the vault \(path): \(message). Commands that only read work on a read-only vault; this one writes, so it needs the file and its directory writable.", underlying: error)
        case .cannotOpen:
            self.init(.permissions, "cannot open the vault \(path): \(message). Check that its directory exists and is writable.", underlying: error)
        case .io:
            self.init(.io, "reading or writing \(path) failed (\(message)); check the disk (the vault keeps what it held before this write).", underlying: error)
        case .newerSchema(let found, let known):
            self.init(.newerSchema, "the vault \(path) has schema version \(found), but this Cloakroom knows only up to \(known): it was written by a newer Cloakroom. Upgrade Cloakroom; the vault was not changed.", underlying: error)
        case .foreignDatabase:
            self.init(.notAVault, "\(path) is an SQLite database, but not a Cloakroom vault; the file was not changed.", next: [.checkVaultPath], underlying: error)
        case .readOnlyNeedsUpgrade(let found, let known):
            self.init(.permissions, "the vault \(path) is read-only here, and this Cloakroom must first upgrade its schema (version \(found) to \(known)). Open it once where it is writable.", underlying: error)
        case .missingIdentity:
            self.init(.corrupted, "the vault \(path) has lost its identity row; restore it from a backup.", underlying: error)
        case .system(let code, let what):
            self = FileSystem.failure(code, what)
        case .noVault:
            self.init(.notFound, "no vault at \(path) (\(message)).", next: [.createVault], underlying: error)
        case .vaultExists:
            self.init(.alreadyExists, "a vault exists at \(path) already (\(message)). Use it, or choose another schema.", next: [.chooseVaultPath], underlying: error)
        case .needsUpgrade(let found, let known):
            self.init(.newerSchema, "the vault \(path) has schema version \(found) and this Cloakroom needs \(known); only the role that owns its schema may upgrade it. Run one command as that role first; nothing was changed.", underlying: error)
        case .invalidLocation:
            self.init(.invalidInput, "\(path) is not a usable vault location: \(message).", underlying: error)
        case .unreachable:
            self.init(.vaultUnavailable, "the vault's database could not be reached: \(message). Check that the server runs and accepts this user; nothing was changed.", underlying: error)
        case .denied:
            self.init(.permissions, "the vault's database refused this role: \(message). Ask its owner for the grants the README's Team vault section lists.", underlying: error)
        case .constraint, .other:
            self.init(.io, "the vault \(path) could not be used: \(message).", underlying: error)
        }
    }
}
