import CloakroomCrypto

extension BundleKey {
    /// A passphrase's bundle key.
    /// - Throws: `VaultError.io` when the machine cannot spare Argon2id's memory.
    static func derive(from passphrase: Passphrase, cost: Argon2Parameters, salt: [UInt8]) throws -> BundleKey {
        guard let key = deriving(from: passphrase, cost: cost, salt: salt) else {
            throw VaultError(.io, "Argon2id could not get \(cost.memLimit >> 20) MiB of memory for the bundle's passphrase.", next: [.lowerKeyDerivationCost])
        }
        return key
    }

    /// A key file's bundle key (a subkey of its bytes, never the bytes themselves).
    static func derive(from file: KeyFile) -> BundleKey { deriving(fromKeyFile: file.key) }
}
