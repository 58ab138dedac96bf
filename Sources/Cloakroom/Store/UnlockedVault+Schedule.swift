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

    /// Sets how often `cloak rotate --due` rotates `ref` (`nil`: never by schedule).
    /// - Throws: `VaultError` `.invalidInput` for an interval under a minute or over
    ///   `longestPeriod`; `.notFound`; `.corrupted` when `ref`'s row was changed outside cloak.
    public func setRotationInterval(_ interval: Duration?, of ref: ClientRef) throws {
        if let interval, !(Duration.seconds(60)...Self.longestPeriod).contains(interval) {
            throw VaultError(.invalidInput, "a rotation interval must be from a minute to a century.")
        }
        try vault.store.write {
            let rowID = try vault.client(ref).rowID
            try amendingClient(rowID: rowID) {
                try vault.store.clients.setRotateEvery(interval.map { $0.components.seconds }, rowID: rowID, at: vault.now)
            }
        }
    }

    /// Sets how often realm `name`'s clients without a schedule of their own are rotated (`nil`:
    /// only those with one). Their tags cover it, as they cover the keep-previous period.
    /// - Throws: `VaultError` `.invalidInput` for an interval under a minute or over
    ///   `longestPeriod`; `.notFound`; `.corrupted` when one of its clients' rows was changed outside cloak.
    public func setRotationInterval(_ interval: Duration?, realm name: Name) throws {
        if let interval, !(Duration.seconds(60)...Self.longestPeriod).contains(interval) {
            throw VaultError(.invalidInput, "a rotation interval must be from a minute to a century.")
        }
        try vault.store.write {
            let realm = try vault.realm(named: name).rowID
            let clients = try vault.store.clients.rowIDs(realmRowID: realm)
            for client in clients { try requireAuthentic(clientRowID: client) }
            try vault.store.realms.setRotateEvery(interval.map { $0.components.seconds }, rowID: realm, at: vault.now)
            for client in clients { try stampClient(rowID: client) }
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
            let realm = try vault.realm(named: name).rowID
            // Every client's tag covers its realm's period: checked before, re-made after.
            let clients = try vault.store.clients.rowIDs(realmRowID: realm)
            for client in clients { try requireAuthentic(clientRowID: client) }
            try vault.store.realms.setKeepPrevious(period.components.seconds, rowID: realm, at: vault.now)
            for client in clients { try stampClient(rowID: client) }
        }
    }
}
