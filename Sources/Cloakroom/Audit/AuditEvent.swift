#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What an audit event records. The raw values are stored in the vault (and listed in its
/// `audit_actions` table): never rename one; a new action needs a migration that adds it.
public enum AuditAction: String, Sendable, CaseIterable {
    /// A token was fetched from the identity provider (cache hits are not events); `failed` when it
    /// rejected the credentials.
    case tokenFetched = "token.fetched"
    /// A realm was added.
    case realmAdded = "realm.added"
    /// A realm's settings were changed; the detail names which.
    case realmUpdated = "realm.updated"
    /// A realm was removed, with its clients when it had any.
    case realmRemoved = "realm.removed"
    /// A client was added with its first secret.
    case clientAdded = "client.added"
    /// A client was removed, with every version of its secret.
    case clientRemoved = "client.removed"
    /// A client's name, settings, secret or rotation schedule was changed (`cloak client update`).
    case clientUpdated = "client.updated"
    /// The user accepted a client's row as it is (`cloak client update --reauthenticate`).
    case clientReauthenticated = "client.reauthenticated"
    /// A keyslot was added: one more way to unlock the vault.
    case keyslotAdded = "keyslot.added"
    /// A keyslot was removed.
    case keyslotRemoved = "keyslot.removed"
    /// The vault key was replaced and everything sealed under it re-sealed (`cloak rekey`).
    case rekeyed = "vault.rekeyed"
    /// A rotation sealed its new secret as the pending version.
    case rotationPrepared = "rotation.prepared"
    /// A rotation's new secret was sent to the identity provider.
    case rotationPushed = "rotation.pushed"
    /// The identity provider accepted a rotation's new secret.
    case rotationVerified = "rotation.verified"
    /// A rotation's new secret became current; the old one is kept as previous.
    case rotationPromoted = "rotation.promoted"
    /// A kept previous secret was made current again (`cloak rotate --rollback`).
    case rotationRolledBack = "rotation.rolled-back"
    /// A rotation failed, and the old secret stayed current.
    case rotationFailed = "rotation.failed"
    /// An interrupted rotation was found and finished or undone.
    case rotationResumed = "rotation.resumed"
    /// A replaced secret outlived its realm's keep-previous period and its ciphertext was dropped.
    case secretRetired = "secret.retired"
    /// A realm or client came in from a `.env` file or a bundle, or a bundle was imported.
    case imported = "import"
    /// A client's secret left the vault sealed in a bundle, or a bundle file was written.
    case exported = "export"
    /// A consumer of the agent's TCP listener was added (its credential shown once).
    case consumerAdded = "consumer.added"
    /// A consumer of the agent's TCP listener was removed: its credential no longer works.
    case consumerRemoved = "consumer.removed"
}

/// How the recorded step went.
public enum AuditOutcome: String, Sendable {
    /// `ok`: the step was done; `failed`: it was tried and did not happen.
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
    /// The name of the machine it ran on.
    public var host: String
    /// The command line as typed (`cloak realm add prod --token-url …`), or the process's name
    /// for library users who bound no `AuditContext.command`.
    public var command: String
    /// An `AuditAction` raw value.
    public var action: String
    /// The realm concerned, when there is one (a client's realm included).
    public var realm: Name?
    /// The client concerned, by its name within `realm`; it may have been removed since.
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
