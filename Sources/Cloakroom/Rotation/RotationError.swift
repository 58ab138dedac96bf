/// Why a rotation did not end with a new current secret. Every case says what state the client
/// is in, and none ever holds a secret.
public struct RotationError: Error, Sendable, CustomStringConvertible {
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

    public var kind: Kind
    public var client: ClientRef?
    public var message: String

    init(_ kind: Kind, _ client: ClientRef?, _ message: String) {
        self.kind = kind
        self.client = client
        self.message = message
    }

    public var description: String { message }
}
