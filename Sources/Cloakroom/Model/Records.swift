public import CloakroomCrypto
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// How a client proves itself at the token endpoint (RFC 6749 §2.3.1, OIDC Core §9).
public enum AuthMethod: String, Sendable, CaseIterable, Codable {
    /// `Authorization: Basic base64(urlenc(client_id):urlenc(secret))`. The default.
    case clientSecretBasic = "client_secret_basic"
    /// `client_id` and `client_secret` as form fields.
    case clientSecretPost = "client_secret_post"
}

/// A named identity-provider realm: where tokens come from and where the admin API lives.
public struct Realm: Sendable, Equatable {
    package let rowID: Int64
    /// The realm's name in this vault (not necessarily its name at the IdP).
    public var name: Name
    /// The OIDC issuer (Keycloak: `https://host/realms/NAME`), when the realm was added by issuer.
    public var issuer: String?
    /// The token endpoint, when given or discovered.
    public var tokenURL: String?
    /// The Keycloak admin API base (`https://host/admin/realms/NAME`).
    public var adminURL: String?
    /// A PEM bundle of CAs to trust for this realm's endpoints.
    public var caFile: String?
    /// The client whose service account calls the admin API.
    public var adminClient: ClientRef?
    /// Plain-http endpoints on hosts other than loopback are allowed (an explicit opt-in).
    public var allowsInsecureHTTP: Bool
    /// How many clients the vault holds in it.
    public var clientCount: Int
    /// When the realm was added.
    public var createdAt: Date
    /// When its settings last changed.
    public var updatedAt: Date
    /// How long a replaced secret is kept (for `cloak rotate --rollback`) before it is retired.
    public var keepPrevious: Duration
    /// How often clients without a schedule of their own are rotated; `nil`: none.
    public var rotateEvery: Duration? = nil
    /// What the issuer's discovery document said, as stored: for showing. Token requests use it
    /// only after its seal opens with the vault key (see `UnlockedVault.discovery(of:)`).
    public var discovered: ProviderMetadata?

    /// The URL every client secret of this realm is sealed for: the token URL, or else the issuer.
    /// A discovered token endpoint never takes its place: the issuer is the trust anchor, and the
    /// endpoint is whatever its validated discovery document names (which may change). Changing
    /// this URL through `cloak` re-seals the secrets; changing it any other way makes them refuse
    /// to open.
    public var secretEndpoint: String { tokenURL ?? issuer ?? "" }
}

/// A named credential `REALM/NAME`. Its secret is not part of this value.
public struct Client: Sendable, Equatable {
    package let rowID: Int64
    /// Its name, `REALM/NAME`.
    public var ref: ClientRef
    /// The `client_id` at the identity provider.
    public var clientID: String
    /// How it authenticates at the token endpoint.
    public var authMethod: AuthMethod
    /// Scopes asked for with every token request (the caller may add more).
    public var scopes: [String]
    /// The `audience` parameter sent with every token request, if any.
    public var audience: String?
    /// The version number of the current secret, if the client has one.
    public var secretVersion: Int?
    /// When the current secret was stored or last rotated.
    public var secretUpdatedAt: Date?
    /// When the client was added.
    public var createdAt: Date
    /// When its settings last changed (a new secret version has its own time: `secretUpdatedAt`).
    public var updatedAt: Date
    /// How often `cloak rotate --due` rotates its secret; `nil`: never by schedule.
    public var rotateEvery: Duration?
}

/// One way to unlock a vault. It holds the vault key sealed under a key-encryption key.
public struct Keyslot: Sendable, Equatable {
    /// What opens the slot. The raw values are stored in the vault.
    public enum Kind: String, Sendable, Codable {
        /// A key file of 32 random bytes (``KeyFile``).
        case keyFile = "key-file"
        /// A passphrase, through Argon2id.
        case passphrase
    }

    /// The slot's number, as `cloak keyslot list` shows it and `removeKeyslot(id:)` takes it.
    public let id: Int64
    /// What opens it.
    public var kind: Kind
    /// A label chosen when it was added (`--label`), empty when none was.
    public var label: String
    /// For key-file slots: the public fingerprint of the key (see `KeyFile.fingerprint`).
    public var fingerprint: String?
    /// For passphrase slots: the Argon2id cost.
    public var argon2: Argon2Parameters?
    /// When it was added.
    public var createdAt: Date
}

extension Date {
    init(unixSeconds: Int64) { self.init(timeIntervalSince1970: TimeInterval(unixSeconds)) }
    var unixSeconds: Int64 { Int64(timeIntervalSince1970.rounded(.down)) }
}
