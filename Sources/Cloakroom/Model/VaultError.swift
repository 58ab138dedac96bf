import CloakroomStore

/// Everything that can go wrong with a vault, as one error type with a stable code.
///
/// The message says what failed and what to do next. It never holds a secret, a passphrase,
/// key material or a response body that could contain one.
public struct VaultError: Error, Sendable, CustomStringConvertible {
    /// Stable codes: scripts and the CLI's exit codes depend on them, so they never change meaning.
    public enum Code: String, Sendable, CaseIterable {
        /// The key file or passphrase opens no keyslot (or does not open a bundle), or none was given.
        case cannotUnlock = "cannot_unlock"
        /// No vault, realm, client or keyslot of that name.
        case notFound = "not_found"
        /// A vault, realm or client of that name exists already.
        case alreadyExists = "already_exists"
        /// The request contradicts the vault's state (a realm still has clients, the last keyslot).
        case conflict = "conflict"
        /// A name, URL or secret that is not acceptable.
        case invalidInput = "invalid_input"
        /// The file is damaged, or a sealed value failed authentication (tampered or moved); also a
        /// bundle that is damaged, cut short or altered.
        case corrupted = "corrupted"
        /// The file is not a Cloakroom vault (or, where a bundle was expected, not a bundle) at all.
        case notAVault = "not_a_vault"
        /// The vault (or bundle) was written by a newer Cloakroom than this one.
        case newerSchema = "newer_schema"
        /// A file or directory is not writable, or is readable by others when it must not be.
        case permissions = "permissions"
        /// The operating system failed a read or write (disk full, I/O error).
        case io = "io"
        /// Another process held the vault's write lock for longer than the busy timeout.
        case busy = "busy"
    }

    /// What kind of failure it is: switch on this, not on `message`.
    public let code: Code
    /// What failed and what to do next, for a person to read. The wording may change.
    public let message: String
    /// The lower-level error, for `--debug` output. Never carries secret material.
    public let underlying: (any Error & Sendable)?

    /// An error with `code` and `message`, and the lower-level error behind it, if any.
    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The same as `message`.
    public var description: String { message }
}

extension VaultError {
    /// What the user must do about a failure of the store, in the words `cloak` shows.
    init(_ error: StoreError) {
        let path = error.path
        let message = error.message
        switch error.kind {
        case .diskFull:
            self.init(.io, "the disk holding \(path) is full; free some space and try again (the vault keeps what it held before this write).", underlying: error)
        case .busy:
            self.init(.busy, "the vault \(path) is locked by another process; try again when it has finished.", underlying: error)
        case .corrupted:
            self.init(.corrupted, "the vault \(path) is damaged (\(message)). Restore it from a backup; `cloak doctor` shows what is affected.", underlying: error)
        case .notADatabase:
            self.init(.notAVault, "\(path) is not a Cloakroom vault (not an SQLite database, or damaged beyond reading).", underlying: error)
        case .readOnly:
            self.init(.permissions, "cannot write the vault \(path): \(message). Commands that only read work on a read-only vault; this one writes, so it needs the file and its directory writable.", underlying: error)
        case .cannotOpen:
            self.init(.permissions, "cannot open the vault \(path): \(message). Check that its directory exists and is writable.", underlying: error)
        case .io:
            self.init(.io, "reading or writing \(path) failed (\(message)); check the disk (the vault keeps what it held before this write).", underlying: error)
        case .newerSchema(let found, let known):
            self.init(.newerSchema, "the vault \(path) has schema version \(found), but this cloak knows only up to \(known): it was written by a newer Cloakroom. Upgrade cloak; the vault was not changed.", underlying: error)
        case .foreignDatabase:
            self.init(.notAVault, "\(path) is an SQLite database, but not a Cloakroom vault. Check --vault (CLOAK_VAULT); the file was not changed.", underlying: error)
        case .readOnlyNeedsUpgrade(let found, let known):
            self.init(.permissions, "the vault \(path) is read-only here, and this cloak must first upgrade its schema (version \(found) to \(known)). Run any cloak command once where the vault is writable.", underlying: error)
        case .missingIdentity:
            self.init(.corrupted, "the vault \(path) has lost its identity row; restore it from a backup.", underlying: error)
        case .system(let code, let what):
            self = FileSystem.failure(code, what)
        case .constraint, .other:
            self.init(.io, "the vault \(path) could not be used: \(message).", underlying: error)
        }
    }
}
