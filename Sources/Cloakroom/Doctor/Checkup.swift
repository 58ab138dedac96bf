import CloakroomCrypto
import CloakroomStore

/// What `cloak doctor` found: one finding per check, and one per affected realm or client.
public struct Checkup: Sendable {
    /// How much a finding matters.
    public enum Severity: String, Sendable, Codable {
        /// `ok`: the check passed; `warning`: worth a look, nothing is broken (an interrupted
        /// rotation, a vault from before the audit log); `problem`: something is wrong (`cloak doctor`
        /// exits 10).
        case ok, warning, problem
    }

    /// The result of one check, or of one check for one realm, client or file.
    public struct Finding: Sendable {
        /// The check's stable name: `file`, `integrity`, `schema`, `keyslots`, `unlock`, `secrets`, `audit`, `rotations`, `realms`, `clients`, `discovery`.
        public var check: String
        /// How much it matters.
        public var severity: Severity
        /// The realm, client or file affected, when there is one.
        public var subject: String?
        /// What was found. Never a secret.
        public var message: String
        /// For anything but `ok`, what would help.
        public var next: [NextStep] = []
    }

    /// Every finding, in the order the checks ran.
    public private(set) var findings: [Finding] = []

    /// No finding is a problem (warnings allowed).
    public var isHealthy: Bool { !findings.contains { $0.severity == .problem } }

    mutating func record(_ check: String, _ severity: Severity, _ message: String, subject: String? = nil, next: [NextStep] = []) {
        findings.append(Finding(check: check, severity: severity, subject: subject, message: message, next: next))
    }

    /// A problem that is `error`: its message, and what would help with it.
    mutating func record(_ check: String, _ error: any Error, subject: String? = nil) {
        record(check, .problem, "\(error)", subject: subject, next: (error as? any CloakroomError)?.next ?? [])
    }

    /// Examines the vault at `path`: file permissions, SQLite integrity, schema, keyslots, and —
    /// when `credentials` unlock it — that every sealed value opens and that the audit log's MAC
    /// chain verifies from its first event to its head. Never changes the vault
    /// (beyond applying this binary's pending migrations, as any command does).
    public static func examine(path: String, credentials: [VaultCredential]) -> Checkup {
        var checkup = Checkup()
        if !Vault.isServerLocation(path) { checkup.examineFiles(path) }
        let vault: Vault
        do {
            vault = try Vault.open(at: path)
        } catch {
            checkup.record("open", error, subject: path)
            return checkup
        }
        do {
            try checkup.examineDatabase(vault)
        } catch {
            checkup.record("integrity", error, subject: path)
            return checkup
        }
        checkup.examineSealedValues(vault, credentials: credentials)
        return checkup
    }

    /// What needs the key: the keyslot `credentials` open, every sealed value, the audit chain,
    /// realm and client tags, discovery results. Also what a copy of a vault must pass.
    mutating func examineSealedValues(_ vault: Vault, credentials: [VaultCredential]) {
        guard !credentials.isEmpty else {
            record("unlock", .problem, "sealed values were not checked: no key given.", next: [.giveVaultKey])
            return
        }
        do {
            let unlocked = try vault.unlock(with: credentials)
            record("unlock", .ok, "the given key opens keyslot \(unlocked.openedSlots.map { String($0.id) }.joined(separator: ", ")).")
            try examineSecrets(unlocked)
            try examineAuditLog(unlocked)
            try examineRealmTrust(unlocked)
            try examineClientTags(unlocked)
            try examineDiscovery(unlocked)
        } catch {
            record("unlock", error)
        }
    }

    private mutating func examineFiles(_ path: String) {
        let directory = FileSystem.parent(of: path)
        if let status = FileSystem.status(of: directory) {
            if status.mode & 0o022 != 0 {
                record("permissions", .problem, "directory \(directory) is writable by group or others (mode \(status.modeString)): they could replace the vault. Run: chmod 700 \(directory)", subject: directory)
            } else if status.isSharedWithOthers {
                record("permissions", .warning, "directory \(directory) is mode \(status.modeString); 0700 keeps even the vault's name private. Run: chmod 700 \(directory)", subject: directory)
            } else {
                record("permissions", .ok, "directory \(directory) is mode \(status.modeString).", subject: directory)
            }
        }
        for file in [path, path + "-wal", path + "-shm"] {
            guard let status = FileSystem.status(of: file) else { continue }
            if status.isSharedWithOthers {
                record("permissions", .problem, "\(file) is accessible by group or others (mode \(status.modeString)). Run: chmod 600 \(file)", subject: file)
            } else {
                record("permissions", .ok, "\(file) is mode \(status.modeString).", subject: file)
            }
        }
    }

    private mutating func examineDatabase(_ vault: Vault) throws {
        let found = try vault.store.examine()
        if let check = found.integrityCheck {
            if found.integrityProblems.isEmpty {
                record("integrity", .ok, "\(check) passed.")
            } else {
                record("integrity", .problem, "\(check) failed: \(found.integrityProblems.prefix(5).joined(separator: "; ")). Restore the vault from a backup.")
            }
        } else {
            record("integrity", .ok, "the database server keeps the vault's storage and every reference between its rows; its own checks are its administrator's.")
        }
        let orphans = found.danglingReferences
        if !orphans.isEmpty {
            record("integrity", .problem, "\(orphans.count) row(s) refer to rows that no longer exist (tables: \(Set(orphans).sorted().joined(separator: ", "))).")
        }

        let (applied, known) = (found.applied, found.shipped)
        if let differences = found.schemaDifferences {
            examineSchemaObjects(differences, latestVersion: found.latestVersion)
        } else {
            for (mine, theirs) in zip(known, applied) where mine != theirs {
                record("schema", .problem, "migration \(theirs.version) applied to this vault (\(theirs.name)) differs from the one this Cloakroom ships (\(mine.name)).")
            }
            if applied.count != known.count {
                record("schema", .problem, "the vault records \(applied.count) migrations; this Cloakroom ships \(known.count).")
            } else if applied == known {
                record("schema", .ok, "schema version \(found.latestVersion), every migration as shipped.")
            }
        }

        // A rotation interrupted half-way: the IdP holds either the current or the pending secret.
        // Not damage, but it needs settling (a resume, or the next token fetch).
        let interrupted = try vault.rotationStatus().filter(\.hasOpenRotation)
        for status in interrupted {
            record("rotations", .warning, "the rotation of \(status.client) was interrupted; both secrets are kept until it is settled.", subject: status.client.description,
                   next: [.resumeRotation(status.client)])
        }

        let slots = try vault.keyslots()
        record("keyslots", slots.isEmpty ? .problem : .ok,
               slots.isEmpty ? "the vault has no keyslot: nobody can unlock it." : "\(slots.count) keyslot(s).")
    }

    /// Tables, indexes and triggers as the shipped migrations make them: a dropped append-only
    /// trigger or an added one would change what the vault lets happen, so each difference is a
    /// problem naming the object.
    private mutating func examineSchemaObjects(_ result: Result<[Migrator.SchemaDifference], StoreError>, latestVersion: Int) {
        let differences: [Migrator.SchemaDifference]
        switch result {
        case .success(let found): differences = found
        case .failure(let error):
            record("schema", .problem, "the schema could not be compared with the shipped one: \(VaultError(error))")
            return
        }
        if differences.isEmpty {
            record("schema", .ok, "schema version \(latestVersion), every migration as shipped, and every table, index and trigger as they make it.")
        }
        for difference in differences {
            let object = difference.object
            let what = "\(object.type) \(object.name)"
            let message = switch difference.kind {
            case .missing: "the \(what) that the shipped migrations create is missing: it was dropped outside cloak."
            case .unexpected: "the vault has a \(what) that no shipped migration creates: it was added outside cloak."
            case .changed: "the \(what) differs from what the shipped migrations create: it was changed outside cloak."
            }
            record("schema", .problem, message + " Restore the vault from a backup (check the backup first); the audit and secrets checks show whether anything else was changed.", subject: object.name)
        }
    }

    /// The audit log's MAC chain, from its first event to its head: an edited, deleted,
    /// reordered or forged event, and a log cut short, are each a problem naming the events.
    private mutating func examineAuditLog(_ vault: UnlockedVault) throws {
        let audit = try vault.verifyAuditLog()
        for problem in audit.problems {
            record("audit", .problem, problem.message, subject: problem.events.map { range in
                range.count == 1 ? "event \(range.lowerBound)" : "events \(range.lowerBound)-\(range.upperBound)"
            })
        }
        if audit.unlistedProblems > 0 {
            record("audit", .problem, "\(audit.unlistedProblems) more audit event(s) do not verify; the log was rewritten from the first problem above on.")
        }
        if audit.isIntact {
            if audit.hasHead {
                record("audit", .ok, "the audit log's \(audit.eventCount) event(s) verify, from the first to the last recorded.")
            } else {
                record("audit", .warning, "the audit log is empty and has no head yet: this vault predates the audit log and nothing has been recorded since (or the whole log, head included, was deleted). The next change starts it.")
            }
        }
    }

    /// A realm's admin URL, CA file, http policy and admin client are authenticated by its trust tag.
    private mutating func examineRealmTrust(_ vault: UnlockedVault) throws {
        for realm in try vault.vault.realms() {
            do {
                try vault.requireTrusted(realm)
            } catch {
                record("realms", error, subject: realm.name.rawValue)
            }
        }
    }

    /// A client's name, realm, settings, secret-version states and open rotation are authenticated
    /// by its tag: each client whose row does not verify is a problem, by name.
    private mutating func examineClientTags(_ vault: UnlockedVault) throws {
        let problems = try vault.clientTagProblems()
        for (ref, error) in problems {
            record("clients", .problem, error.message, subject: ref.description, next: error.next)
        }
        if problems.isEmpty {
            record("clients", .ok, "every client's name, realm, settings and secret versions are as cloak wrote them.")
        }
    }

    /// A stored discovery result decides where a realm's secrets go, so it is sealed too.
    private mutating func examineDiscovery(_ vault: UnlockedVault) throws {
        for realm in try vault.vault.realms() where realm.discovered != nil && realm.tokenURL == nil {
            if try vault.discovery(of: realm) == nil {
                record("discovery", .problem, "the stored discovery result of realm \(realm.name) does not open with the vault key: it was changed outside cloak. It is not used; the issuer is asked again on the next token request.", subject: realm.name.rawValue,
                       next: [.updateRealm(realm.name, .rediscover)])
            }
        }
    }

    private mutating func examineSecrets(_ vault: UnlockedVault) throws {
        var opened = 0
        var failed = 0
        let sealed = try vault.vault.store.clients.secrets(.sealed).sorted { ($0.realm, $0.client, $0.version) < ($1.realm, $1.client, $1.version) }
        for secret in sealed {
            guard let box = secret.sealed else { continue }
            do {
                _ = try vault.open(box, for: UnlockedVault.SecretSlot(secret), of: secret.ref)
                opened += 1
            } catch {
                failed += 1
                record("secrets", error, subject: secret.ref.description)
            }
        }
        let missing = try vault.vault.store.clients.withoutCurrentSecret().map { ClientRef(realm: Name(trusted: $0.realm), name: Name(trusted: $0.name)) }
        for ref in missing {
            record("secrets", .problem, "\(ref) has no current secret; it must be stored again.", subject: ref.description, next: [.storeSecretAgain(ref)])
        }
        if failed == 0 && missing.isEmpty {
            record("secrets", .ok, "all \(opened) sealed secret(s) open with the vault key.")
        }
    }
}
