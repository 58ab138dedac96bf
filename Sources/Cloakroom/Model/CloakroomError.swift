/// The shape every error the library throws shares: a stable code to switch on, what it
/// concerns, what to do next as data, and the lower-level cause.
///
/// `message` says what failed and what state things are in, for a person to read; it never names
/// a command or a flag (that is `next`, for the program in front of the library to word), and
/// never holds a secret, a token, a passphrase or a response body that could contain one.
public protocol CloakroomError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure it is: stable, and the one thing to switch on.
    var code: ErrorCode { get }
    /// What failed, for a person. The wording may change.
    var message: String { get }
    /// The realm concerned, when there is one.
    var realm: Name? { get }
    /// The client concerned, when there is one.
    var client: ClientRef? { get }
    /// What would help, in order: the first is the likeliest.
    var next: [NextStep] { get }
    /// The lower-level error, for debugging. Never carries secret material.
    var underlying: (any Error & Sendable)? { get }
}

extension CloakroomError {
    /// The client's realm, when there is a client.
    public var realm: Name? { client?.realm }
    /// None, unless the error names one.
    public var client: ClientRef? { nil }
    /// Nothing, unless the error says.
    public var next: [NextStep] { [] }
    /// None, unless the error wraps one.
    public var underlying: (any Error & Sendable)? { nil }
}

/// Every failure's stable code. The raw values are what `--json`, and an agent's problem
/// documents, print: they never change meaning.
public enum ErrorCode: String, Sendable, CaseIterable {
    // The vault.
    /// The key file or passphrase opens no keyslot (or does not open a bundle), or none was given.
    case cannotUnlock = "cannot_unlock"
    /// No vault, realm, client or keyslot of that name.
    case notFound = "not_found"
    /// A vault, realm or client of that name exists already.
    case alreadyExists = "already_exists"
    /// The request contradicts the vault's state (a realm still has clients, the last keyslot).
    case conflict = "conflict"
    /// A name, URL, secret or `.env` file that is not acceptable.
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
    /// A vault kept by a database server (PostgreSQL) whose server could not be reached, or
    /// refused the connection.
    case vaultUnavailable = "vault_unavailable"

    // The identity provider.
    /// The IdP refused the credentials (400/401/403): not retried.
    case credentialsRejected = "credentials_rejected"
    /// The IdP could not be reached, or failed (5xx, 429, connection errors) until the deadline.
    case idpUnavailable = "idp_unavailable"
    /// The IdP answered, but not with what was asked for.
    case idpMalformed = "idp_malformed"
    /// TLS or URL policy refused the endpoint (untrusted certificate, plain http).
    case idpRefused = "idp_refused"
    /// A token's signature, issuer or expiry was checked, and was wrong.
    case tokenInvalid = "token_invalid"

    // Rotation.
    /// The admin API refused the admin client, or the realm has none: nothing was changed.
    case adminRefused = "admin_refused"
    /// The client does not exist at the IdP: nothing was changed.
    case unknownAtIdP = "unknown_at_idp"
    /// The rotation did not happen or was undone; the old secret is current.
    case rotationFailed = "rotation_failed"
    /// The rotation could not be finished or undone: both secrets are kept until it is settled.
    case rotationUnresolved = "rotation_unresolved"
}
