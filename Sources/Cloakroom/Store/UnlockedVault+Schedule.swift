import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

extension UnlockedVault {
    /// The longest period the vault stores: a century. Longer is a typo, and past a few centuries
    /// the value no longer converts to the `Int64` seconds (or milliseconds) of its column.
    public static let longestPeriod: TimeInterval = 36_500 * 86_400

    /// Sets how often `cloak rotate --due` rotates `ref` (`nil`: never by schedule).
    public func setRotationInterval(_ interval: TimeInterval?, of ref: ClientRef) throws {
        if let interval, !(60...Self.longestPeriod).contains(interval) {
            throw VaultError(.invalidInput, "a rotation interval must be from a minute to a century.")
        }
        try database.writeTransaction {
            let rowID = try vault.client(ref).rowID
            try amendingClient(rowID: rowID) {
                _ = try database.execute("UPDATE clients SET rotate_every = ?, updated_at = ? WHERE id = ?",
                                         interval.map { .integer(Int64($0)) } ?? .null, .integer(vault.now), .integer(rowID))
            }
        }
    }

    /// Sets how long realm `name` keeps a replaced secret for rollback before retiring it.
    public func setKeepPrevious(_ period: TimeInterval, realm name: Name) throws {
        guard (0...Self.longestPeriod).contains(period) else {
            throw VaultError(.invalidInput, "the keep-previous period must be from 0 seconds to a century.")
        }
        try database.writeTransaction {
            let realm = try vault.realm(named: name).rowID
            // Every client's tag covers its realm's period: checked before, re-made after.
            let clients = try database.rows("SELECT id FROM clients WHERE realm_id = ? ORDER BY id", .integer(realm)) { $0.integer(0) }
            for client in clients { try requireAuthentic(clientRowID: client) }
            _ = try database.execute("UPDATE realms SET keep_previous = ?, updated_at = ? WHERE id = ?",
                                     .integer(Int64(period)), .integer(vault.now), .integer(realm))
            for client in clients { try stampClient(rowID: client) }
        }
    }
}
