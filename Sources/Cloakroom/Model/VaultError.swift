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

    public let code: Code
    public let message: String
    /// The lower-level error, for `--debug` output. Never carries secret material.
    public let underlying: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, underlying: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    public var description: String { message }
}
