package import CloakroomCrypto

/// One keyslot as stored: the vault key wrapped under a key-encryption key, with what the KEK is
/// derived from (a key file's fingerprint, or Argon2id's settings and salt).
package struct KeyslotRecord: Sendable {
    package var id: Int64
    /// `key-file` or `passphrase`.
    package var kind: String
    package var label: String
    package var fingerprint: String?
    package var opsLimit: Int64?
    package var memLimit: Int64?
    package var salt: [UInt8]?
    package var wrappedKey: SealedBox
    /// Unix seconds.
    package var createdAt: Int64

    package init(id: Int64 = 0, kind: String, label: String, fingerprint: String?, opsLimit: Int64?, memLimit: Int64?,
                 salt: [UInt8]?, wrappedKey: SealedBox, createdAt: Int64) {
        self.id = id
        self.kind = kind
        self.label = label
        self.fingerprint = fingerprint
        self.opsLimit = opsLimit
        self.memLimit = memLimit
        self.salt = salt
        self.wrappedKey = wrappedKey
        self.createdAt = createdAt
    }
}
