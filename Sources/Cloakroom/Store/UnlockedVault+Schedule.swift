import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

extension UnlockedVault {
    /// The longest period the vault stores: a century. Longer is a typo, and past a few centuries
    /// the value no longer converts to the `Int64` seconds (or milliseconds) of its column.
    public static let longestPeriod: Duration = .seconds(36_500 * 86_400)

    /// - Throws: `VaultError.invalidInput` for a rotation interval under a minute or over `longestPeriod`.
    static func requireRotationInterval(_ interval: Duration?) throws {
        if let interval, !(Duration.seconds(60)...longestPeriod).contains(interval) {
            throw VaultError(.invalidInput, "a rotation interval must be from a minute to a century.")
        }
    }

    /// Sets how often `cloak rotate --due` rotates `ref` (`nil`: never by schedule).
    /// - Throws: `VaultError` `.invalidInput` for an interval under a minute or over
    ///   `longestPeriod`; `.notFound`; `.corrupted` when `ref`'s row was changed outside cloak.
    public func setRotationInterval(_ interval: Duration?, of ref: ClientRef) throws {
        try Self.requireRotationInterval(interval)
        try vault.store.write {
            let client = try vault.client(ref)
            guard client.rotateEvery != interval else { return }
            try amendingClient(rowID: client.rowID) {
                try vault.store.clients.setRotateEvery(interval.map { $0.components.seconds }, rowID: client.rowID, at: vault.now)
            }
            try record(.clientUpdated, realm: ref.realm, client: ref.name,
                       detail: "rotation schedule " + Self.schedule(client.rotateEvery) + " → " + Self.schedule(interval))
        }
    }

    /// Sets how often realm `name`'s clients without a schedule of their own are rotated (`nil`:
    /// only those with one). Their tags cover it, as they cover the keep-previous period.
    /// - Throws: `VaultError` `.invalidInput` for an interval under a minute or over
    ///   `longestPeriod`; `.notFound`; `.corrupted` when one of its clients' rows was changed outside cloak.
    public func setRotationInterval(_ interval: Duration?, realm name: Name) throws {
        try Self.requireRotationInterval(interval)
        try vault.store.write {
            let found = try vault.realm(named: name), realm = found.rowID
            guard found.rotateEvery != interval else { return }
            let clients = try vault.store.clients.rowIDs(realmRowID: realm)
            for client in clients { try requireAuthentic(clientRowID: client) }
            try vault.store.realms.setRotateEvery(interval.map { $0.components.seconds }, rowID: realm, at: vault.now)
            for client in clients { try stampClient(rowID: client) }
            try record(.realmUpdated, realm: name, detail: "rotation schedule of clients without their own: " + Self.schedule(interval))
        }
    }

    /// Sets how long realm `name` keeps a replaced secret for rollback before retiring it.
    /// - Throws: `VaultError` `.invalidInput` for a negative period or one over `longestPeriod`;
    ///   `.notFound`; `.corrupted` when one of its clients' rows was changed outside cloak.
    public func setKeepPrevious(_ period: Duration, realm name: Name) throws {
        guard (Duration.zero...Self.longestPeriod).contains(period) else {
            throw VaultError(.invalidInput, "the keep-previous period must be from 0 seconds to a century.")
        }
        try vault.store.write {
            let found = try vault.realm(named: name), realm = found.rowID
            guard found.keepPrevious != period else { return }
            // Every client's tag covers its realm's period: checked before, re-made after.
            let clients = try vault.store.clients.rowIDs(realmRowID: realm)
            for client in clients { try requireAuthentic(clientRowID: client) }
            try vault.store.realms.setKeepPrevious(period.components.seconds, rowID: realm, at: vault.now)
            for client in clients { try stampClient(rowID: client) }
            try record(.realmUpdated, realm: name, detail: "replaced secrets kept \(period.compactText)")
        }
    }

    /// A rotation schedule in an audit event's words.
    static func schedule(_ interval: Duration?) -> String {
        interval.map { "every \($0.compactText)" } ?? "none"
    }
}
