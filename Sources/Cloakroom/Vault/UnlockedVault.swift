import CloakroomCrypto
import CloakroomStore

/// A vault opened with its key: the only way to change a vault or to read a secret.
///
/// Holding one proves a keyslot was opened. The vault key and its subkeys live in secure
/// memory and are zeroed when the last reference goes.
public final class UnlockedVault {
    /// The vault this unlocks: for reading metadata, which needs no key.
    public let vault: Vault
    let key: VaultKey
    // Derived on first use: a cached-token read needs only the token subkey.
    lazy var secretsKey: SealingKey = key.subkey(for: .clientSecrets)
    lazy var tokensKey: SealingKey = key.subkey(for: .cachedTokens)
    lazy var trustKey: MACKey = key.macKey(for: .realmTrust)
    lazy var clientTrustKey: MACKey = key.macKey(for: .clientTrust)
    lazy var consumerTrustKey: MACKey = key.macKey(for: .consumerTrust)
    lazy var auditKey: MACKey = key.macKey(for: .auditLog)
    let openedSlots: [OpenedSlot]

    init(vault: Vault, key: VaultKey, openedSlots: [OpenedSlot]) {
        // From here on the process holds what opens every secret: no core file may catch it.
        CoreDumps.disable()
        self.vault = vault
        self.key = key
        self.openedSlots = openedSlots
    }

    // MARK: Sealing client secrets

    /// Where one secret version belongs. Opening succeeds only with all of it unchanged: the
    /// same vault, client row, version, token endpoint and client_id. A secret can therefore never
    /// be sent to an endpoint, or for a client_id, it was not sealed for.
    struct SecretSlot {
        var clientRowID: Int64
        var version: Int
        var endpoint: String
        var clientID: String
    }

    func context(for slot: SecretSlot) -> AssociatedData {
        var context = AssociatedData("cloakroom client-secret v1")
        context.append(bytes: vault.vaultID)
        context.append(slot.clientRowID)
        context.append(Int64(slot.version))
        context.append(slot.endpoint)
        context.append(slot.clientID)
        return context
    }

    func seal(_ secret: ClientSecret, for slot: SecretSlot, using key: SealingKey? = nil) -> SealedBox {
        (key ?? secretsKey).seal(secret.bytes, authenticating: context(for: slot))
    }

    /// - Throws: `VaultError.corrupted` naming `ref`, when the value was altered or moved.
    func open(_ box: SealedBox, for slot: SecretSlot, of ref: ClientRef) throws -> ClientSecret {
        guard let bytes = secretsKey.open(box, authenticating: context(for: slot)) else {
            throw VaultError(.corrupted, "the sealed secret of \(ref) (version \(slot.version)) does not open: it was altered, copied from another client, or its realm's token URL or client_id was changed outside cloak. It will not be sent anywhere. Restore the vault from a backup, or store the secret again.", client: ref, next: [.storeSecretAgain(ref)])
        }
        return try ClientSecret(validating: bytes)
    }

    /// Opens many sealed secrets at once into one secure allocation (each secret a slice of
    /// it): a bulk read such as an export pays for one `sodium_malloc`, not one per secret.
    /// - Throws: `VaultError.corrupted` naming the first value that does not open.
    func open(_ values: [(box: SealedBox, slot: SecretSlot, ref: ClientRef)]) throws -> [ClientSecret] {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(values.count)
        var total = 0
        for value in values {
            let count = value.box.ciphertext.count - SealedBox.tagCount
            if count < 0 { _ = try open(value.box, for: value.slot, of: value.ref) }  // throws the usual message
            ranges.append(total..<total + max(count, 0))
            total += max(count, 0)
        }
        var failed: Int?
        let arena = SecureBytes(count: total) { out in
            for (index, value) in values.enumerated() where failed == nil {
                let slot = UnsafeMutableRawBufferPointer(rebasing: out[ranges[index]])
                if !secretsKey.open(value.box, authenticating: context(for: value.slot), into: slot) { failed = index }
            }
        }
        if let failed {
            let value = values[failed]
            _ = try open(value.box, for: value.slot, of: value.ref)  // throws the usual message
        }
        return try ranges.map { try ClientSecret(validating: SecureBytes(slice: $0, of: arena)) }
    }

    // MARK: Keyslots

    /// Adds a way to unlock the vault. No secret is re-encrypted.
    /// - Returns: the new keyslot, as `Vault.keyslots()` lists it.
    /// - Throws: `VaultError` `.busy`, `.io` or `.permissions` when it cannot be written.
    @discardableResult
    public func addKeyslot(_ slot: NewKeyslot) throws -> Keyslot {
        let id = try vault.store.write {
            let id = try vault.insertKeyslot(slot, wrapping: key)
            try record(.keyslotAdded, detail: "keyslot \(id), \(slot.kind.rawValue)" + (slot.label.isEmpty ? "" : ", label \(slot.label)"))
            return id
        }
        guard let added = try vault.keyslots().first(where: { $0.id == id }) else {
            throw VaultError(.io, "the new keyslot was not found after it was written.")
        }
        return added
    }

    /// Removes keyslot `id`.
    /// - Throws: `VaultError.conflict` for the last keyslot (the vault would be lost);
    ///   `.notFound` for an unknown id.
    public func removeKeyslot(id: Int64) throws {
        try vault.store.write {
            let ids = try vault.store.keyslots.all().map(\.id)
            guard ids.contains(id) else {
                throw VaultError(.notFound, "no keyslot \(id).", next: [.listKeyslots])
            }
            guard ids.count > 1 else {
                throw VaultError(.conflict, "keyslot \(id) is the vault's last one: without it nobody could unlock the vault.", next: [.addKeyslot])
            }
            _ = try vault.store.keyslots.remove(id: id)
            try record(.keyslotRemoved, detail: "keyslot \(id)")
        }
    }

    /// What `rekey` did.
    public struct RekeyReport: Sendable {
        /// Sealed values re-sealed under the new key.
        public var resealed: Int
        /// Keyslots kept (re-wrapped): the ones the given credentials opened.
        public var keptKeyslots: [Int64]
        /// Keyslots removed, as `dropping` asked.
        public var removedKeyslots: [Int64]
        /// Audit events re-MAC'd under the new key (the audit subkey derives from the vault key).
        public var reauthenticatedEvents: Int
        /// What was wrong with the audit log before the rekey, when `acceptingBrokenAuditLog`
        /// let it proceed; empty otherwise. The rekey's own event records it too.
        public var auditProblemsAccepted: [AuditVerification.Problem]
    }

    /// Keyslots this vault was not unlocked with: a rekey cannot re-wrap them (their KEKs are
    /// not known here), so it must be told to drop them.
    public func unopenedKeyslots() throws -> [Keyslot] {
        let opened = Set(openedSlots.map(\.id))
        return try vault.keyslots().filter { !opened.contains($0.id) }
    }

    /// Replaces the vault key: every sealed value is re-sealed and every keyslot this vault was
    /// unlocked with is re-wrapped, in one transaction. A keyslot that was not opened cannot be
    /// re-wrapped (its KEK is unknown): it must be named in `dropping`, or the rekey is refused —
    /// it once removed such slots without a word, and a passphrase slot nobody was asked for was
    /// gone. Unlock with `all: true` and every credential to keep them.
    ///
    /// The audit log is MAC'd with a subkey of the vault key, so it is re-MAC'd too — after it
    /// was verified under the old key. A log that does not verify is refused: re-MACing it would
    /// sign whatever was changed and hide it. Look at it with `cloak doctor` first; then, to rekey
    /// anyway (say, after a suspected compromise), pass `acceptingBrokenAuditLog`: the log is
    /// re-MAC'd as found, and the rekey's event says what was wrong with it.
    ///
    /// This object keeps working with the new key; the old key's memory is zeroed when released.
    /// - Parameter dropping: keyslots to remove instead of re-wrapping; opened ones too, as long
    ///   as one opened slot is kept.
    /// - Throws: `VaultError.corrupted` for a sealed secret that does not open, or an audit log
    ///   that does not verify (unless accepted); `.conflict` for an unopened slot not in
    ///   `dropping`, or for dropping every opened one; `.notFound` for an unknown id in `dropping`.
    public func rekey(acceptingBrokenAuditLog: Bool = false, dropping: Set<Int64> = []) throws -> (UnlockedVault, RekeyReport) {
        let slots = try vault.keyslots()
        if let unknown = dropping.subtracting(slots.map(\.id)).min() {
            throw VaultError(.notFound, "the vault has no keyslot \(unknown); nothing was changed.", next: [.listKeyslots])
        }
        let lost = try unopenedKeyslots().filter { !dropping.contains($0.id) }
        guard lost.isEmpty else {
            let names = lost.map { "\($0.id) (\($0.kind.rawValue)\($0.label.isEmpty ? "" : " “\($0.label)”"))" }.joined(separator: ", ")
            throw VaultError(.conflict, "keyslot(s) \(names) would be lost: no credential given opens them, so the new key cannot be wrapped for them. Give what opens them too, or drop them explicitly; nothing was changed.",
                             next: [.dropKeyslots(lost.map(\.id))])
        }
        let keeping = openedSlots.filter { !dropping.contains($0.id) }
        guard !keeping.isEmpty else {
            throw VaultError(.conflict, "a rekey must keep at least one keyslot it can re-wrap; nothing was changed.", next: [.listKeyslots])
        }
        let newKey = VaultKey.random()
        let newVault = UnlockedVault(vault: vault, key: newKey, openedSlots: keeping)
        let report = try vault.store.write {
            let audit = try verifyAuditLog(with: auditKey)
            if !audit.isIntact && !acceptingBrokenAuditLog {
                let more = audit.problems.count + audit.unlistedProblems - 1
                throw VaultError(.corrupted, "cannot rekey: the audit log does not verify, and re-MACing it under the new key would hide what was changed. \(audit.problems[0].message)\(more > 0 ? " There are \(more) more problem(s)." : "") Nothing was changed.",
                                 next: [.runCheckup, .force(effect: "rekey anyway (the rekey's audit event then records what was wrong)")])
            }
            let resealed = try resealSecrets(.sealed, into: newVault)
            // Checked under the old key first: re-stamping an edited realm would make the edit look
            // like cloak's own.
            for realm in try vault.realms() {
                try requireTrusted(realm)
                try stampTrust(realmRowID: realm.rowID, using: newVault)
            }
            for client in try vault.store.clients.all(realm: nil).map(\.rowID).sorted() {
                try requireAuthentic(clientRowID: client)
                try stampClient(rowID: client, using: newVault)
            }
            try retagConsumers(using: newVault)
            // Cached tokens are not re-sealed: they can be fetched again, and dropping them means
            // nothing sealed under the old key remains.
            try vault.store.tokenCache.remove(clientRowID: nil)
            // Discovery results are sealed under the old key too; the issuers are asked again.
            try vault.store.realms.forgetDiscovery(realmRowID: nil)
            var kept: [Int64] = []
            for slot in keeping {
                guard let stored = try vault.storedKeyslots().first(where: { $0.id == slot.id }) else { continue }
                let wrapped = slot.kek.seal(newKey.key.bytes, authenticating: vault.slotContext(stored.kind, stored.argon2, stored.salt))
                try vault.store.keyslots.rewrap(id: slot.id, wrapped)
                kept.append(slot.id)
            }
            let removed = try vault.store.keyslots.all().map(\.id).filter { !kept.contains($0) }
            for id in removed { _ = try vault.store.keyslots.remove(id: id) }
            let events = try reauthenticateAuditLog(for: newVault)
            var detail = "\(resealed) sealed value(s) re-sealed, \(events) audit event(s) re-MAC'd, keyslot(s) \(kept.map(String.init).joined(separator: ", ")) kept"
            if !removed.isEmpty { detail += ", keyslot(s) \(removed.map(String.init).joined(separator: ", ")) removed" }
            if !audit.isIntact {
                let first = audit.problems[0]
                detail += "; the audit log did not verify before this rekey and was re-MAC'd as found: \(audit.problems.count + audit.unlistedProblems) problem(s), the first \(first.kind.rawValue)\(first.events.map { " at event \($0.lowerBound)" } ?? "")"
            }
            try newVault.record(.rekeyed, detail: detail)
            return RekeyReport(resealed: resealed, keptKeyslots: kept, removedKeyslots: removed, reauthenticatedEvents: events,
                               auditProblemsAccepted: audit.isIntact ? [] : audit.problems)
        }
        return (newVault, report)
    }

    /// Opens every sealed secret version `selection` reads (`.sealed` or `.sealedInRealm`) with
    /// this vault's key and seals it again for `target`'s key and for the slot `change` says.
    /// Runs inside the caller's transaction; returns how many were re-sealed. `oldEndpoint`
    /// overrides the endpoint read from the realm row, for a realm whose URL the caller has just
    /// changed.
    @discardableResult
    func resealSecrets(
        _ selection: SecretSelection, opening oldEndpoint: String? = nil,
        into target: UnlockedVault? = nil, change: (SecretSlot) -> SecretSlot = { $0 }
    ) throws -> Int {
        let records = try vault.store.clients.secrets(selection)
        let target = target ?? self
        for record in records {
            guard let box = record.sealed else { continue }
            var slot = SecretSlot(record)
            if let oldEndpoint { slot.endpoint = oldEndpoint }
            let secret = try open(box, for: slot, of: record.ref)
            try vault.store.clients.reseal(rowID: record.rowID, target.seal(secret, for: change(slot)))
        }
        return records.count
    }
}

extension UnlockedVault.SecretSlot {
    /// Where `record`'s sealed value belongs.
    init(_ record: SealedSecretRecord) {
        self.init(clientRowID: record.clientRowID, version: Int(record.version), endpoint: record.endpoint, clientID: record.clientID)
    }
}

extension SealedSecretRecord {
    var ref: ClientRef { ClientRef(realm: Name(trusted: realm), name: Name(trusted: client)) }
}
