/// Why a rotation did not end with a new current secret. Every case says what state the client
/// is in, and none ever holds a secret.
public struct RotationError: Error, Sendable, CustomStringConvertible {
    /// What state the client is left in. The raw values are stable (`--json` prints them).
    public enum Kind: String, Sendable {
        /// The admin API refused the admin client (missing role, bad token), or the realm has no
        /// admin client: nothing was changed.
        case adminRefused = "admin_refused"
        /// The client does not exist at the IdP (by its client_id): nothing was changed.
        case unknownAtIdP = "unknown_at_idp"
        /// The rotation did not happen or was undone; the old secret is current at the IdP and
        /// in the vault.
        case failed
        /// The rotation could not be finished or undone (the IdP stopped answering half-way):
        /// both secrets are kept and `cloak rotate --resume` settles it.
        case unresolved
    }

    /// What happened, and so what state the client is in.
    public var kind: Kind
    /// The client concerned; `nil` when the error is about its realm (no admin client, the
    /// admin API refusing the admin client).
    public var client: ClientRef?
    /// What failed and what to do next; never a secret.
    public var message: String

    init(_ kind: Kind, _ client: ClientRef?, _ message: String) {
        self.kind = kind
        self.client = client
        self.message = message
    }

    /// The same as `message`.
    public var description: String { message }
}
