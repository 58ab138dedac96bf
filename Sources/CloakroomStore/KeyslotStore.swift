package import CloakroomCrypto

/// The ways to unlock a vault.
package protocol KeyslotStore {
    /// Every keyslot, oldest first.
    func all() throws -> [KeyslotRecord]
    /// Adds `record` (its `id` is ignored); returns the new slot's id.
    func insert(_ record: KeyslotRecord) throws -> Int64
    /// Replaces the wrapped vault key of slot `id` (rekey).
    func rewrap(id: Int64, _ wrappedKey: SealedBox) throws
    /// Removes slot `id`; returns whether there was one.
    func remove(id: Int64) throws -> Bool
}
