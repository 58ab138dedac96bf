#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What an audit event records. The raw values are stored in the vault (and listed in its
/// `audit_actions` table): never rename one; a new action needs a migration that adds it.
public enum AuditAction: String, Sendable, CaseIterable {
    case tokenFetched = "token.fetched"
    case realmAdded = "realm.added"
    case realmUpdated = "realm.updated"
    case realmRemoved = "realm.removed"
    case clientAdded = "client.added"
    case clientRemoved = "client.removed"
    /// The user accepted a client's row as it is (`cloak client update --reauthenticate`).
    case clientReauthenticated = "client.reauthenticated"
    case keyslotAdded = "keyslot.added"
    case keyslotRemoved = "keyslot.removed"
    case rekeyed = "vault.rekeyed"
    case rotationPrepared = "rotation.prepared"
    case rotationPushed = "rotation.pushed"
    case rotationVerified = "rotation.verified"
    case rotationPromoted = "rotation.promoted"
    case rotationRolledBack = "rotation.rolled-back"
    case rotationFailed = "rotation.failed"
    case rotationResumed = "rotation.resumed"
    case secretRetired = "secret.retired"
    case imported = "import"
    case exported = "export"
}

/// How the recorded step went.
public enum AuditOutcome: String, Sendable {
    case ok, failed
}

/// One line of the audit log: who did what to which realm or client, when, and how it went.
/// Never a secret.
///
/// `action` and `outcome` are the stored text, so that an event reads back exactly as it is in the
/// file, even one written by a newer cloak or edited by hand (`knownAction` is then `nil`).
public struct AuditEvent: Sendable, Equatable {
    /// 1, 2, 3, … in the order events were appended.
    public var seq: Int64
    /// When it was recorded, to the millisecond.
    public var time: Date
    /// The operating-system user that ran the command (the uid when it has no name).
    public var user: String
    public var host: String
    /// The command line as typed (`cloak realm add prod --token-url …`), or the process's name
    /// for library users who did not set `AuditContext.command`.
    public var command: String
    /// An `AuditAction` raw value.
    public var action: String
    public var realm: Name?
    public var client: Name?
    /// An `AuditOutcome` raw value.
    public var outcome: String
    /// A short note written by cloak (what changed, the IdP's error code); never a secret.
    public var detail: String

    /// `action` as an `AuditAction`, or `nil` for an action this cloak does not know.
    public var knownAction: AuditAction? { AuditAction(rawValue: action) }

    /// `REALM/NAME` when the event concerns one client.
    public var clientRef: ClientRef? {
        guard let realm, let client else { return nil }
        return ClientRef(realm: realm, name: client)
    }
}
