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
    init(id: Int64, client: ClientRef, clientRowID: Int64, fromVersion: Int, toVersion: Int, mode: Mode, state: State, startedAt: Date) {
        self.id = id
        self.client = client
        self.clientRowID = clientRowID
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.mode = mode
        self.state = state
        self.startedAt = startedAt
    }

    init(_ record: RotationRecord) {
        self.init(id: record.id, client: ClientRef(realm: Name(trusted: record.realm), name: Name(trusted: record.client)),
                  clientRowID: record.clientRowID, fromVersion: Int(record.fromVersion), toVersion: Int(record.toVersion),
                  mode: Mode(rawValue: record.mode) ?? .chosen, state: State(rawValue: record.state) ?? .failed,
                  startedAt: Date(unixSeconds: record.startedAt))
    }

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
    /// The client.
    public var client: ClientRef
    /// How often `--due` (and the agent) rotates it: its own schedule, else its realm's; `nil`:
    /// never by schedule.
    public var rotateEvery: Duration?
    /// Whether `rotateEvery` is the realm's (`cloak realm update R --rotate-every`).
    public var scheduleFromRealm = false
    /// When its current secret was stored or last rotated.
    public var secretUpdatedAt: Date?
    /// The version number of its current secret; `nil` when it has none.
    public var secretVersion: Int?
    /// Kept replaced secrets (`cloak rotate --rollback` restores the newest).
    public var previousVersions: [Int]
    /// An interrupted rotation waiting to be finished or undone.
    public var hasOpenRotation: Bool

    /// Whether `rotateEvery` has passed since the current secret was stored or rotated at `now`;
    /// `false` for a client without a schedule.
    public func isDue(at now: Date) -> Bool {
        guard let rotateEvery, let secretUpdatedAt else { return false }
        return now.timeIntervalSince(secretUpdatedAt) >= rotateEvery.inSeconds
    }
}

extension UnlockedVault {
    /// The unfinished rotation of `ref`, if one was interrupted (or is running in another process).
    func openRotation(of ref: ClientRef) throws -> RotationJournal? {
        try vault.store.rotations.open(realm: ref.realm.rawValue, client: ref.name.rawValue).map(RotationJournal.init)
    }

    /// Every unfinished rotation, by client.
    func openRotations() throws -> [RotationJournal] {
        try vault.store.rotations.allOpen().map(RotationJournal.init)
    }

    /// Step 1, *prepare*: seals `secret` (when we chose it) as the pending version and opens a
    /// journal row, in one transaction committed before anything is sent to the IdP.
    /// - Parameter clientRowID: `ref`'s row, when the caller read it already: the transaction
    ///   locks only that client (`VaultStore.write(durable:clients:_:)`), so it must be known first.
    /// - Throws: `VaultError.conflict` when `ref` has an unfinished rotation already, or is no
    ///   longer the client in row `clientRowID`.
    func prepareRotation(of ref: ClientRef, clientRowID: Int64? = nil, mode: RotationJournal.Mode, secret: ClientSecret?) throws
        -> (RotationJournal, PendingSecret?) {
        let rowID = try clientRowID ?? vault.client(ref).rowID
        return try vault.store.write(durable: true, clients: [rowID]) {
            let client = try vault.client(ref)
            guard client.rowID == rowID else {
                throw VaultError(.conflict, "\(ref) was removed and added again meanwhile; nothing was changed.", client: ref, next: [.showClient(ref)])
            }
            try requireAuthentic(clientRowID: client.rowID)
            let realm = try vault.realm(named: ref.realm)
            guard let current = client.secretVersion else {
                throw VaultError(.corrupted, "\(ref) has no current secret; it must be stored again.", client: ref, next: [.storeSecretAgain(ref)])
            }
            if try openRotation(of: ref) != nil {
                throw VaultError(.conflict, "\(ref) has an unfinished rotation, to be settled first.", client: ref, next: [.resumeRotation(ref)])
            }
            let next = Int(try vault.store.clients.highestVersion(clientRowID: client.rowID)) + 1
            let now = vault.now
            var pending: PendingSecret?
            if let secret {
                try insertPending(secret, version: next, client: client, realm: realm, now: now)
                pending = PendingSecret(secret: secret, version: next)
            }
            let id = try vault.store.rotations.insert(clientRowID: client.rowID, from: Int64(current), to: Int64(next), mode: mode.rawValue, at: now)
            let journal = RotationJournal(
                id: id, client: ref, clientRowID: client.rowID, fromVersion: current, toVersion: next,
                mode: mode, state: .prepared, startedAt: Date(unixSeconds: now))
            // The tag first, the audit events last: they hold the log until the commit.
            try stampClient(rowID: client.rowID)
            try record(.rotationPrepared, realm: ref.realm, client: ref.name,
                       detail: "\(mode.rawValue): version \(current) → \(next)\(secret == nil ? ", the IdP generates the secret" : ", pending secret sealed")")
            return (journal, pending)
        }
    }

    private func insertPending(_ secret: ClientSecret, version: Int, client: Client, realm: Realm, now: Int64) throws {
        let box = seal(secret, for: SecretSlot(clientRowID: client.rowID, version: version, endpoint: realm.secretEndpoint, clientID: client.clientID))
        try vault.store.clients.insertSecret(clientRowID: client.rowID, version: Int64(version), state: .pending, sealed: box,
                                             createdAt: now, stateChangedAt: now)
    }

    /// Moves the journal to `state`. With `received`, the secret the IdP generated is sealed as
    /// the pending version in the same transaction (server-generated rotations). With `idpUUID`,
    /// the IdP's id of the client, looked up for this rotation, is remembered for the next one
    /// (in a transaction that writes anyway, rather than one of its own).
    @discardableResult
    func advance(_ journal: RotationJournal, to state: RotationJournal.State, received: ClientSecret? = nil, detail: String = "",
                 rememberingIdPUUID idpUUID: String? = nil) throws -> PendingSecret? {
        // A secret the IdP generated must reach the disk before anything else happens; a plain
        // step forward may be lost to a power cut, since settling redoes it from 'prepared'.
        try vault.store.write(durable: received != nil, clients: [journal.clientRowID]) {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            var pending: PendingSecret?
            if let received {
                try insertPending(received, version: journal.toVersion, client: try vault.client(journal.client),
                                  realm: try vault.realm(named: journal.client.realm), now: vault.now)
                pending = PendingSecret(secret: received, version: journal.toVersion)
            }
            try vault.store.rotations.setState(id: journal.id, state.rawValue, detail: detail, at: vault.now)
            if let idpUUID { try vault.store.clients.setIdPUUID(idpUUID, rowID: journal.clientRowID) }
            let action: AuditAction = .rotationPushed
            let what = received != nil ? "the IdP's generated secret sealed as version \(journal.toVersion)" : "version \(journal.toVersion)"
            try stampClient(rowID: journal.clientRowID)
            try record(action, realm: journal.client.realm, client: journal.client.name, detail: detail.isEmpty ? what : what + "; " + detail)
            return pending
        }
    }

    /// Step 4, *promote*, in one transaction: pending → current, current → previous, the client's
    /// cached tokens dropped (they were issued to the old secret), the journal closed, and
    /// replaced secrets older than the realm's keep-previous period retired. A rollback retires
    /// the previous version it restored (`retiring`): it lives on as the new current one.
    ///
    /// With `recordingPush`, the step to 'pushed' is recorded in the same transaction, first: a
    /// chosen secret's push, which needs no transaction of its own (`SecretRotator.push`). With
    /// `idpUUID`, the IdP's id of the client, looked up for this rotation, is remembered.
    func promote(_ journal: RotationJournal, detail: String = "", retiring restored: Int? = nil,
                 recordingPush: Bool = false, rememberingIdPUUID idpUUID: String? = nil) throws {
        // Not waiting for the disk: if a power cut loses this commit, the journal is back at
        // 'prepared' or 'pushed', and the next command settles it the same way (the IdP accepts
        // the new secret).
        try vault.store.write(durable: false, clients: [journal.clientRowID]) {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            let now = vault.now
            let client = journal.clientRowID
            let secrets = vault.store.clients
            if let idpUUID { try secrets.setIdPUUID(idpUUID, rowID: client) }
            if recordingPush {
                try record(.rotationPushed, realm: journal.client.realm, client: journal.client.name, detail: "version \(journal.toVersion)")
            }
            guard try secrets.moveSecrets(clientRowID: client, from: .current, version: nil, to: .previous, at: now) == 1,
                  try secrets.moveSecrets(clientRowID: client, from: .pending, version: Int64(journal.toVersion), to: .current, at: now) == 1
            else {
                throw VaultError(.corrupted, "the rotation of \(journal.client) found no pending secret version \(journal.toVersion) to promote; the vault was edited outside cloak. Nothing was changed.")
            }
            try vault.store.tokenCache.remove(clientRowID: client)
            try vault.store.rotations.setState(id: journal.id, RotationJournal.State.done.rawValue, detail: detail, at: now)
            if let restored {
                try secrets.moveSecrets(clientRowID: client, from: .previous, version: Int64(restored), to: .retired, at: now)
            }
            let retired = try retireExpiredPrevious(clientRowID: client, now: now)
            try stampClient(rowID: client)
            try record(.rotationVerified, realm: journal.client.realm, client: journal.client.name,
                       detail: "the IdP accepted version \(journal.toVersion)")
            try record(.rotationPromoted, realm: journal.client.realm, client: journal.client.name,
                       detail: "version \(journal.toVersion) current, version \(journal.fromVersion) kept as previous" + (detail.isEmpty ? "" : "; " + detail))
            if retired > 0 {
                try record(.secretRetired, realm: journal.client.realm, client: journal.client.name,
                           detail: "\(retired) previous version(s) past the realm's keep-previous period")
            }
        }
    }

    /// Closes `journal` without promoting: the pending version (if any) is retired, its
    /// ciphertext dropped, and the current secret stays what it was.
    func abandon(_ journal: RotationJournal, as state: RotationJournal.State, detail: String) throws {
        precondition(!state.isOpen && state != .done)
        try vault.store.write(durable: true, clients: [journal.clientRowID]) {
            try requireAuthentic(clientRowID: journal.clientRowID)
            try requireOpen(journal)
            let now = vault.now
            try vault.store.clients.moveSecrets(clientRowID: journal.clientRowID, from: .pending, version: nil, to: .retired, at: now)
            try vault.store.rotations.setState(id: journal.id, state.rawValue, detail: detail, at: now)
            try stampClient(rowID: journal.clientRowID)
            try record(state == .undone ? .rotationRolledBack : .rotationFailed, realm: journal.client.realm, client: journal.client.name,
                       outcome: state == .undone ? .ok : .failed, detail: "version \(journal.toVersion) dropped, version \(journal.fromVersion) stays current: " + detail)
        }
    }

    private func requireOpen(_ journal: RotationJournal) throws {
        guard let state = try vault.store.rotations.state(id: journal.id), RotationJournal.State(rawValue: state)?.isOpen == true else {
            throw VaultError(.conflict, "the rotation of \(journal.client) was finished by another process meanwhile.", client: journal.client, next: [.showClient(journal.client)])
        }
    }

    /// Retires 'previous' versions kept longer than their realm's keep-previous period.
    /// - Returns: how many were retired.
    @discardableResult
    func retireExpiredPrevious(clientRowID: Int64? = nil, now: Int64) throws -> Int {
        try vault.store.clients.retireExpiredPrevious(clientRowID: clientRowID, now: now)
    }

    /// The pending secret of an open rotation, opened.
    func pendingSecret(of journal: RotationJournal) throws -> PendingSecret? {
        try secret(of: journal.client, clientRowID: journal.clientRowID, state: .pending, version: journal.toVersion)
            .map { PendingSecret(secret: $0, version: journal.toVersion) }
    }

    /// The newest kept replaced secret of `ref`, for a rollback.
    func newestPreviousSecret(of ref: ClientRef) throws -> (ClientSecret, version: Int)? {
        let client = try vault.client(ref)
        guard let version = try vault.store.clients.newestVersion(clientRowID: client.rowID, in: .previous).map(Int.init) else { return nil }
        return try secret(of: ref, clientRowID: client.rowID, state: .previous, version: version).map { ($0, version) }
    }

    private func secret(of ref: ClientRef, clientRowID: Int64, state: SecretState, version: Int) throws -> ClientSecret? {
        guard let record = try vault.store.clients.secrets(.version(clientRowID: clientRowID, state: state, version: Int64(version))).first,
              let box = record.sealed else { return nil }
        return try open(box, for: SecretSlot(record), of: ref)
    }

    /// What the IdP knows `ref` by: its client_id, and its id at the Keycloak admin API when
    /// learnt before. One read of the client's row.
    func identityAtIdP(of ref: ClientRef) throws -> (clientID: String, uuid: String?) {
        let client = try vault.client(ref)
        return (client.clientID, try vault.store.clients.idpUUID(rowID: client.rowID))
    }

}

extension Vault {
    /// Rotation settings and state of every client (of one realm), by realm and name.
    /// - Throws: `VaultError.notFound` for an unknown realm.
    public func rotationStatus(in realm: Name? = nil) throws -> [RotationStatus] {
        if let realm { _ = try self.realm(named: realm) }
        return try store.rotations.statuses(realm: realm?.rawValue, client: nil).map(RotationStatus.init)
    }

    /// Rotation settings and state of client `ref`.
    /// - Throws: `VaultError.notFound` for an unknown client.
    public func rotationStatus(of ref: ClientRef) throws -> RotationStatus {
        guard let record = try store.rotations.statuses(realm: ref.realm.rawValue, client: ref.name.rawValue).first else {
            _ = try client(ref)  // says which of realm and client is unknown
            throw VaultError(.notFound, "no client '\(ref)' in this vault.", client: ref, next: [.listClients(realm: ref.realm)])
        }
        return RotationStatus(record)
    }
}

extension RotationStatus {
    init(_ record: RotationStatusRecord) {
        self.init(
            client: ClientRef(realm: Name(trusted: record.realm), name: Name(trusted: record.client)),
            rotateEvery: record.rotateEvery.map { .seconds($0) }, scheduleFromRealm: record.scheduleFromRealm,
            secretUpdatedAt: record.secretChangedAt.map(Date.init(unixSeconds:)),
            secretVersion: record.secretVersion.map(Int.init), previousVersions: record.previousVersions.map(Int.init).sorted(),
            hasOpenRotation: record.hasOpenRotation)
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
        try vault.store.write {
            try requireAuthentic(ref)  // before its journal is believed
            if try openRotation(of: ref) != nil {
                throw VaultError(.conflict, "\(ref) has an unfinished rotation, to be settled first.", client: ref, next: [.resumeRotation(ref)])
            }
            guard try !currentSecret(of: ref).matches(secret) else { return nil }
            let client = try vault.client(ref)
            let realm = try vault.realm(named: ref.realm)
            let now = vault.now
            let next = Int(try vault.store.clients.highestVersion(clientRowID: client.rowID)) + 1
            try vault.store.clients.moveSecrets(clientRowID: client.rowID, from: .current, version: nil, to: .previous, at: now)
            try insertCurrentSecret(secret, version: next, clientRowID: client.rowID, endpoint: realm.secretEndpoint,
                                    clientID: client.clientID, since: now)
            try vault.store.tokenCache.remove(clientRowID: client.rowID)
            try retireExpiredPrevious(clientRowID: client.rowID, now: now)
            try record(.imported, realm: ref.realm, client: ref.name, detail: "secret version \(next) \(detail)")
            try stampClient(rowID: client.rowID)
            return next
        }
    }
}

/// One realm at a glance, for `cloak realm list`.
public struct RealmOverview: Sendable {
    /// The realm.
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
    /// - Parameter now: the time rotations are due by.
    /// - Throws: `VaultError` when the vault cannot be read.
    public func realmOverviews(now: Date = Date()) throws -> [RealmOverview] {
        let realms = try self.realms()
        let facts = try store.realms.overviews(now: now.unixSeconds).map { record in
            (record.realm, record.oldestSecretAt.map(Date.init(unixSeconds:)), Int(record.rotationsDue),
             record.lastTokenFetchedAt.map(Date.init(milliseconds:)))
        }
        let byName = Dictionary(facts.map { ($0.0, $0) }, uniquingKeysWith: { first, _ in first })
        return realms.map { realm in
            let fact = byName[realm.name.rawValue]
            return RealmOverview(realm: realm, oldestSecretAt: fact?.1, rotationsDue: fact?.2 ?? 0, lastTokenFetchedAt: fact?.3)
        }
    }
}
