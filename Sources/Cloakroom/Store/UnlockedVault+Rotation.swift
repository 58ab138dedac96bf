import CloakroomCrypto
import CloakroomStore
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A secret that is not (yet) the client's current one: generated for a rotation, or received
/// from the IdP, and sealed as the *pending* version.
///
/// It has no way to become a `TokenRequest` for the token cache: the only request it can make is
/// the rotation's verification (`TokenRequest(verifying:)`), whose token is never cached.
struct PendingSecret: Sendable {
    let secret: ClientSecret
    let version: Int
}

/// One row of the rotation journal.
struct RotationJournal: Sendable, Equatable {
    enum Mode: String, Sendable {
        case chosen
        case serverGenerated = "server-generated"
        case rollback
    }

    enum State: String, Sendable {
        case prepared, pushed, done, undone, failed

        var isOpen: Bool { self == .prepared || self == .pushed }
    }

    var id: Int64
    var client: ClientRef
    var clientRowID: Int64
    var fromVersion: Int
    var toVersion: Int
    var mode: Mode
    var state: State
    var startedAt: Date
}

/// A client's rotation settings and history, as `cloak rotate` plans with them.
public struct RotationStatus: Sendable, Equatable {
    public var client: ClientRef
    /// How often `--due` rotates it; `nil`: never by schedule.
    public var rotateEvery: TimeInterval?
    /// When its current secret was stored or last rotated.
    public var secretUpdatedAt: Date?
    public var secretVersion: Int?
    /// Kept replaced secrets (`cloak rotate --rollback` restores the newest).
    public var previousVersions: [Int]
    /// An interrupted rotation waiting to be finished or undone.
    public var hasOpenRotation: Bool

    public func isDue(at now: Date) -> Bool {
        guard let rotateEvery, let secretUpdatedAt else { return false }
        return now.timeIntervalSince(secretUpdatedAt) >= rotateEvery
    }
}

extension UnlockedVault {
    private static let journalColumns = """
        SELECT j.id, r.name, c.name, c.id, j.from_version, j.to_version, j.mode, j.state, j.started_at
        FROM rotations j JOIN clients c ON c.id = j.client_id JOIN realms r ON r.id = c.realm_id
        """

    private static func journal(_ row: Row) -> RotationJournal {
        RotationJournal(
            id: row.integer(0), client: ClientRef(realm: Name(trusted: row.text(1)), name: Name(trusted: row.text(2))),
            clientRowID: row.integer(3), fromVersion: Int(row.integer(4)), toVersion: Int(row.integer(5)),
            mode: RotationJournal.Mode(rawValue: row.text(6)) ?? .chosen, state: RotationJournal.State(rawValue: row.text(7)) ?? .failed,
            startedAt: Date(unixSeconds: row.integer(8)))
    }

    /// The unfinished rotation of `ref`, if one was interrupted (or is running in another process).
    func openRotation(of ref: ClientRef) throws -> RotationJournal? {
        try database.row(
            Self.journalColumns + " WHERE r.name = ? AND c.name = ? AND j.state IN ('prepared', 'pushed')",
            .text(ref.realm.rawValue), .text(ref.name.rawValue), read: Self.journal)
    }

    /// Every unfinished rotation, by client.
    func openRotations() throws -> [RotationJournal] {
        try database.rows(Self.journalColumns + " WHERE j.state IN ('prepared', 'pushed') ORDER BY r.name, c.name", read: Self.journal)
    }

    /// Step 1, *prepare*: seals `secret` (when we chose it) as the pending version and opens a
    /// journal row, in one transaction committed before anything is sent to the IdP.
    /// - Throws: `VaultError.conflict` when `ref` has an unfinished rotation already.
    func prepareRotation(of ref: ClientRef, mode: RotationJournal.Mode, secret: ClientSecret?) throws -> (RotationJournal, PendingSecret?) {
        try database.writeTransaction {
            let client = try vault.client(ref)
            try requireAuthentic(clientRowID: client.rowID)
            let realm = try vault.realm(named: ref.realm)
            guard let current = client.secretVersion else {
                throw VaultError(.corrupted, "\(ref) has no current secret; store it again with `cloak client remove` and `cloak client add`.")
            }
            if try openRotation(of: ref) != nil {
                throw VaultError(.conflict, "\(ref) has an unfinished rotation; finish it with `cloak rotate --resume \(ref)`.")
            }
            let next = Int(try database.row("SELECT max(version) FROM secret_versions WHERE client_id = ?", .integer(client.rowID)) { $0.integer(0) } ?? 0) + 1
            let now = vault.now
            var pending: PendingSecret?
            if let secret {
                try insertPending(secret, version: next, client: client, realm: realm, now: now)
                pending = PendingSecret(secret: secret, version: next)
            }
            try database.execute(
                "INSERT INTO rotations (client_id, from_version, to_version, mode, state, started_at, updated_at) VALUES (?, ?, ?, ?, 'prepared', ?, ?)",
                .integer(client.rowID), .integer(Int64(current)), .integer(Int64(next)), .text(mode.rawValue), .integer(now), .integer(now))
            let journal = RotationJournal(
                id: database.lastInsertedRowID, client: ref, clientRowID: client.rowID, fromVersion: current, toVersion: next,
                mode: mode, state: .prepared, startedAt: Date(unixSeconds: now))
            try record(.rotationPrepared, realm: ref.realm, client: ref.name,
                       detail: "\(mode.rawValue): version \(current) → \(next)\(secret == nil ? ", the IdP generates the secret" : ", pending secret sealed")")
            try stampClient(rowID: client.rowID)
            return (journal, pending)
        }
    }

    private func insertPending(_ secret: ClientSecret, version: Int, client: Client, realm: Realm, now: Int64) throws {
        let box = seal(secret, for: SecretSlot(clientRowID: client.rowID, version: version, endpoint: realm.secretEndpoint, clientID: client.clientID))
        try database.execute(
            """
            INSERT INTO secret_versions (client_id, version, state, nonce, sealed, created_at, state_changed_at)
            VALUES (?, ?, 'pending', ?, ?, ?, ?)
            """,
            .integer(client.rowID), .integer(Int64(version)), .blob(box.nonce), .blob(box.ciphertext), .integer(now), .integer(now))
    }

    /// Moves the journal to `state`. With `received`, the secret the IdP generated is sealed as
    /// the pending version in the same transaction (server-generated rotations).
    @discardableResult
    func advance(_ journal: RotationJournal, to state: RotationJournal.State, received: ClientSecret? = nil, detail: String = "") throws -> PendingSecret? {
        // A secret the IdP generated must reach the disk before anything else happens; a plain
        // step forward may be lost to a power cut, since settling redoes it from 'prepared'.
        try database.writeTransaction(durable: received != nil) {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            var pending: PendingSecret?
            if let received {
                try insertPending(received, version: journal.toVersion, client: try vault.client(journal.client),
                                  realm: try vault.realm(named: journal.client.realm), now: vault.now)
                pending = PendingSecret(secret: received, version: journal.toVersion)
            }
            try database.execute("UPDATE rotations SET state = ?, updated_at = ?, detail = ? WHERE id = ?",
                                 .text(state.rawValue), .integer(vault.now), .text(detail), .integer(journal.id))
            let action: AuditAction = .rotationPushed
            let what = received != nil ? "the IdP's generated secret sealed as version \(journal.toVersion)" : "version \(journal.toVersion)"
            try record(action, realm: journal.client.realm, client: journal.client.name, detail: detail.isEmpty ? what : what + "; " + detail)
            try stampClient(rowID: journal.clientRowID)
            return pending
        }
    }

    /// Step 4, *promote*, in one transaction: pending → current, current → previous, the client's
    /// cached tokens dropped (they were issued to the old secret), the journal closed, and
    /// replaced secrets older than the realm's keep-previous period retired. A rollback retires
    /// the previous version it restored (`retiring`): it lives on as the new current one.
    func promote(_ journal: RotationJournal, detail: String = "", retiring restored: Int? = nil) throws {
        // Not waiting for the disk: if a power cut loses this commit, the journal is back at
        // 'pushed' and the next command settles it the same way (the IdP accepts the new secret).
        try database.writeTransaction(durable: false) {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            let now = vault.now
            let client = journal.clientRowID
            guard try database.execute("UPDATE secret_versions SET state = 'previous', state_changed_at = ? WHERE client_id = ? AND state = 'current'",
                                       .integer(now), .integer(client)) == 1,
                  try database.execute("UPDATE secret_versions SET state = 'current', state_changed_at = ? WHERE client_id = ? AND version = ? AND state = 'pending'",
                                       .integer(now), .integer(client), .integer(Int64(journal.toVersion))) == 1
            else {
                throw VaultError(.corrupted, "the rotation of \(journal.client) found no pending secret version \(journal.toVersion) to promote; the vault was edited outside cloak. Nothing was changed.")
            }
            try database.execute("DELETE FROM cached_tokens WHERE client_id = ?", .integer(client))
            try database.execute("UPDATE rotations SET state = 'done', updated_at = ?, detail = ? WHERE id = ?",
                                 .integer(now), .text(detail), .integer(journal.id))
            try record(.rotationVerified, realm: journal.client.realm, client: journal.client.name,
                       detail: "the IdP accepted version \(journal.toVersion)")
            try record(.rotationPromoted, realm: journal.client.realm, client: journal.client.name,
                       detail: "version \(journal.toVersion) current, version \(journal.fromVersion) kept as previous" + (detail.isEmpty ? "" : "; " + detail))
            if let restored {
                try database.execute(
                    "UPDATE secret_versions SET state = 'retired', nonce = NULL, sealed = NULL, state_changed_at = ? WHERE client_id = ? AND version = ? AND state = 'previous'",
                    .integer(now), .integer(client), .integer(Int64(restored)))
            }
            let retired = try retireExpiredPrevious(clientRowID: client, now: now)
            if retired > 0 {
                try record(.secretRetired, realm: journal.client.realm, client: journal.client.name,
                           detail: "\(retired) previous version(s) past the realm's keep-previous period")
            }
            try stampClient(rowID: client)
        }
    }

    /// Closes `journal` without promoting: the pending version (if any) is retired, its
    /// ciphertext dropped, and the current secret stays what it was.
    func abandon(_ journal: RotationJournal, as state: RotationJournal.State, detail: String) throws {
        precondition(!state.isOpen && state != .done)
        try database.writeTransaction {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            let now = vault.now
            try database.execute(
                "UPDATE secret_versions SET state = 'retired', nonce = NULL, sealed = NULL, state_changed_at = ? WHERE client_id = ? AND state = 'pending'",
                .integer(now), .integer(journal.clientRowID))
            try database.execute("UPDATE rotations SET state = ?, updated_at = ?, detail = ? WHERE id = ?",
                                 .text(state.rawValue), .integer(now), .text(detail), .integer(journal.id))
            try record(state == .undone ? .rotationRolledBack : .rotationFailed, realm: journal.client.realm, client: journal.client.name,
                       outcome: state == .undone ? .ok : .failed, detail: "version \(journal.toVersion) dropped, version \(journal.fromVersion) stays current: " + detail)
            try stampClient(rowID: journal.clientRowID)
        }
    }

    private func requireOpen(_ journal: RotationJournal) throws {
        let state = try database.row("SELECT state FROM rotations WHERE id = ?", .integer(journal.id)) { $0.text(0) }
        guard let state, RotationJournal.State(rawValue: state)?.isOpen == true else {
            throw VaultError(.conflict, "the rotation of \(journal.client) was finished by another process meanwhile; run `cloak client show \(journal.client)` to see its current secret version.")
        }
    }

    /// Retires 'previous' versions kept longer than their realm's keep-previous period.
    /// - Returns: how many were retired.
    @discardableResult
    func retireExpiredPrevious(clientRowID: Int64? = nil, now: Int64) throws -> Int {
        try database.execute(
            """
            UPDATE secret_versions SET state = 'retired', nonce = NULL, sealed = NULL, state_changed_at = ?1
            WHERE state = 'previous' AND (?2 IS NULL OR client_id = ?2)
              AND state_changed_at + (SELECT r.keep_previous FROM clients c JOIN realms r ON r.id = c.realm_id
                                      WHERE c.id = secret_versions.client_id) <= ?1
            """,
            .integer(now), clientRowID.map(SQLValue.integer) ?? .null)
    }

    /// The pending secret of an open rotation, opened.
    func pendingSecret(of journal: RotationJournal) throws -> PendingSecret? {
        try secret(of: journal.client, clientRowID: journal.clientRowID, state: "pending", version: journal.toVersion)
            .map { PendingSecret(secret: $0, version: journal.toVersion) }
    }

    /// The newest kept replaced secret of `ref`, for a rollback.
    func newestPreviousSecret(of ref: ClientRef) throws -> (ClientSecret, version: Int)? {
        let client = try vault.client(ref)
        guard let version = try database.row(
            "SELECT max(version) FROM secret_versions WHERE client_id = ? AND state = 'previous'", .integer(client.rowID), read: { $0.isNull(0) ? nil : Int($0.integer(0)) }) ?? nil
        else { return nil }
        return try secret(of: ref, clientRowID: client.rowID, state: "previous", version: version).map { ($0, version) }
    }

    private func secret(of ref: ClientRef, clientRowID: Int64, state: String, version: Int) throws -> ClientSecret? {
        let sql = """
            SELECT coalesce(r.token_url, r.issuer), c.client_id, s.nonce, s.sealed
            FROM secret_versions s JOIN clients c ON c.id = s.client_id JOIN realms r ON r.id = c.realm_id
            WHERE s.client_id = ? AND s.state = ? AND s.version = ? AND s.sealed IS NOT NULL
            """
        let found = try database.row(sql, .integer(clientRowID), .text(state), .integer(Int64(version))) { row in
            (SecretSlot(clientRowID: clientRowID, version: version, endpoint: row.text(0), clientID: row.text(1)),
             SealedBox(nonce: row.blob(2), ciphertext: row.blob(3)))
        }
        guard let (slot, box) = found else { return nil }
        return try open(box, for: slot, of: ref)
    }

    /// The client's id at the Keycloak admin API, when learnt before.
    func idpUUID(of ref: ClientRef) throws -> String? {
        try database.row("SELECT idp_uuid FROM clients WHERE id = ?", .integer(try vault.client(ref).rowID)) { $0.optionalText(0) } ?? nil
    }

    func rememberIdPUUID(_ uuid: String?, of ref: ClientRef) throws {
        try database.writeTransaction {
            _ = try database.execute("UPDATE clients SET idp_uuid = ? WHERE id = ?", .optional(uuid), .integer(try vault.client(ref).rowID))
        }
    }
}

extension Vault {
    /// Rotation settings and state of every client (of one realm), by realm and name.
    public func rotationStatus(in realm: Name? = nil) throws -> [RotationStatus] {
        if let realm { _ = try self.realm(named: realm) }
        return try database.rows(
            """
            SELECT r.name, c.name, c.rotate_every, s.state_changed_at, s.version,
                   (SELECT group_concat(p.version) FROM secret_versions p WHERE p.client_id = c.id AND p.state = 'previous'),
                   EXISTS (SELECT 1 FROM rotations j WHERE j.client_id = c.id AND j.state IN ('prepared', 'pushed'))
            FROM clients c JOIN realms r ON r.id = c.realm_id
            LEFT JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
            WHERE ?1 IS NULL OR r.name = ?1
            ORDER BY r.name, c.name
            """, realm.map { .text($0.rawValue) } ?? .null
        ) { row in
            RotationStatus(
                client: ClientRef(realm: Name(trusted: row.text(0)), name: Name(trusted: row.text(1))),
                rotateEvery: row.isNull(2) ? nil : TimeInterval(row.integer(2)),
                secretUpdatedAt: row.isNull(3) ? nil : Date(unixSeconds: row.integer(3)),
                secretVersion: row.isNull(4) ? nil : Int(row.integer(4)),
                previousVersions: (row.optionalText(5) ?? "").split(separator: ",").compactMap { Int($0) }.sorted(),
                hasOpenRotation: row.integer(6) != 0)
        }
    }
}

extension UnlockedVault {
    /// Stores `secret` as `ref`'s new current secret, the old one kept as previous (and retired
    /// after the realm's keep-previous period): for a secret that changed outside cloak and was
    /// read back from the IdP (`cloak realm sync`). Cached tokens of the old secret are dropped.
    /// - Returns: the new version, or `nil` when `secret` is the current one already.
    /// - Throws: `VaultError.conflict` while a rotation of `ref` is unfinished.
    @discardableResult
    func replaceSecret(of ref: ClientRef, with secret: ClientSecret, detail: String) throws -> Int? {
        try database.writeTransaction {
            try requireAuthentic(ref)  // before its journal is believed
            if try openRotation(of: ref) != nil {
                throw VaultError(.conflict, "\(ref) has an unfinished rotation; settle it with `cloak rotate --resume \(ref)` first.")
            }
            guard try !currentSecret(of: ref).matches(secret) else { return nil }
            let client = try vault.client(ref)
            let realm = try vault.realm(named: ref.realm)
            let now = vault.now
            let next = Int(try database.row("SELECT max(version) FROM secret_versions WHERE client_id = ?", .integer(client.rowID)) { $0.integer(0) } ?? 0) + 1
            try database.execute("UPDATE secret_versions SET state = 'previous', state_changed_at = ? WHERE client_id = ? AND state = 'current'",
                                 .integer(now), .integer(client.rowID))
            let box = seal(secret, for: SecretSlot(clientRowID: client.rowID, version: next, endpoint: realm.secretEndpoint, clientID: client.clientID))
            try database.execute(
                """
                INSERT INTO secret_versions (client_id, version, state, nonce, sealed, created_at, state_changed_at)
                VALUES (?, ?, 'current', ?, ?, ?, ?)
                """,
                .integer(client.rowID), .integer(Int64(next)), .blob(box.nonce), .blob(box.ciphertext), .integer(now), .integer(now))
            try database.execute("DELETE FROM cached_tokens WHERE client_id = ?", .integer(client.rowID))
            try retireExpiredPrevious(clientRowID: client.rowID, now: now)
            try record(.imported, realm: ref.realm, client: ref.name, detail: "secret version \(next) \(detail)")
            try stampClient(rowID: client.rowID)
            return next
        }
    }
}

/// One realm at a glance, for `cloak realm list`.
public struct RealmOverview: Sendable {
    public var realm: Realm
    /// When the oldest current secret of its clients was stored or rotated.
    public var oldestSecretAt: Date?
    /// Clients whose `--rotate-every` interval has passed.
    public var rotationsDue: Int
    /// The last token fetched from the IdP for any of its clients (from the audit log).
    public var lastTokenFetchedAt: Date?
}

extension Vault {
    /// Every realm with its clients' oldest secret, rotations due and last token fetch: one query.
    public func realmOverviews(now: Date = Date()) throws -> [RealmOverview] {
        let realms = try self.realms()
        let facts = try database.rows(
            """
            SELECT r.name,
                   (SELECT min(s.state_changed_at) FROM clients c JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
                    WHERE c.realm_id = r.id),
                   (SELECT count(*) FROM clients c JOIN secret_versions s ON s.client_id = c.id AND s.state = 'current'
                    WHERE c.realm_id = r.id AND c.rotate_every IS NOT NULL AND s.state_changed_at + c.rotate_every <= ?1),
                   (SELECT max(e.time) FROM events e WHERE e.realm = r.name AND e.action = 'token.fetched' AND e.outcome = 'ok')
            FROM realms r
            """, .integer(now.unixSeconds)
        ) { row in
            (row.text(0), row.isNull(1) ? nil : Date(unixSeconds: row.integer(1)), Int(row.integer(2)),
             row.isNull(3) ? nil : Date(milliseconds: row.integer(3)))
        }
        let byName = Dictionary(facts.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
        return realms.map { realm in
            let fact = byName[realm.name.rawValue]
            return RealmOverview(realm: realm, oldestSecretAt: fact?.1, rotationsDue: fact?.2 ?? 0, lastTokenFetchedAt: fact?.3)
        }
    }
}
