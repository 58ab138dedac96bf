import CloakroomStore

extension Vault {
    /// What `copy(to:credentials:)` carried over.
    public struct CopyReport: Sendable {
        /// Where the copy is.
        public var destination: String
        /// Rows copied, by table (`keyslots`, `realms`, `clients`, `secret_versions`, `events`, …).
        public var rows: [String: Int]
    }

    /// Copies this whole vault to a new one at `destination` — a file or a server URL, so from
    /// SQLite to PostgreSQL, back, or between two of either: keyslots, realms, clients with every
    /// secret version, cached tokens, the rotation journal, the audit log, discovery results and
    /// agent consumers.
    ///
    /// Rows keep their ids and the vault its identity: every sealed value, trust tag and audit MAC
    /// is bound to those, so each is carried as it is, opens with the same key files and
    /// passphrases, and verifies as it did; nothing is decrypted to copy it. Before the copy is
    /// committed it is checked as `doctor` checks a vault — unlocked with `credentials`, every
    /// sealed secret opened, the audit chain verified from its first event to its head, every
    /// realm's and client's tag checked — in the same transaction: nothing is written to
    /// `destination` unless all of it is, and checks out. This vault is read in one snapshot and
    /// not changed.
    /// - Throws: `VaultError`: `.cannotUnlock` when `credentials` open no keyslot of this vault
    ///   (checked before anything is made); `.alreadyExists` when `destination` holds a vault (or
    ///   any file); `.corrupted` when the copy does not check out (a damaged source: `doctor`
    ///   shows what); what making `destination` can throw.
    public func copy(to destination: String, credentials: [VaultCredential]) throws -> CopyReport {
        _ = try unlock(with: credentials)
        let rows = try store.read { try store.wholeVault.allRows() }
        return try Self.makeStore(at: destination, now: clock().unixSeconds) { target in
            try target.wholeVault.insertAll(rows)
            let copy = Vault(path: destination, store: target, vaultID: try target.identity(), clock: clock)
            var checkup = Checkup()
            checkup.examineSealedValues(copy, credentials: credentials)
            let problems = checkup.findings.filter { $0.severity == .problem }
            guard problems.isEmpty else {
                throw VaultError(.corrupted, "the copy of \(path) does not check out, so nothing was written to \(destination): \(problems.map(\.message).joined(separator: " "))",
                                 next: [.runCheckup])
            }
            return CopyReport(destination: destination, rows: rows.counts)
        }
    }
}
