/// Why a rotation did not end with a new current secret. Every case says what state the client
/// is in, and none ever holds a secret.
public struct RotationError: CloakroomError {
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
        /// both secrets are kept until the rotation is settled.
        case unresolved
    }

    /// What happened, and so what state the client is in.
    public var kind: Kind
    /// The client concerned; `nil` when the error is about its realm (no admin client, the
    /// admin API refusing the admin client).
    public var client: ClientRef?
    /// The realm concerned.
    public var realm: Name?
    /// What failed; never a secret.
    public var message: String
    /// What would help, in order.
    public var next: [NextStep]

    init(_ kind: Kind, _ client: ClientRef?, _ message: String, realm: Name? = nil, next: [NextStep] = []) {
        self.kind = kind
        self.client = client
        self.realm = realm ?? client?.realm
        self.message = message
        self.next = next
    }

    /// The code of `kind`: `rotationFailed` for `failed`, `rotationUnresolved` for `unresolved`.
    public var code: ErrorCode {
        switch kind {
        case .adminRefused: .adminRefused
        case .unknownAtIdP: .unknownAtIdP
        case .failed: .rotationFailed
        case .unresolved: .rotationUnresolved
        }
    }

    /// The same as `message`.
    public var description: String { message }
}
