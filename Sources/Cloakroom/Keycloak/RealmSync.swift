import CloakroomStore
import Synchronization

/// Brings a whole Keycloak realm into the vault: every confidential client with a service
/// account, its secret read through the admin API (`cloak realm sync`).
public struct RealmSync: Sendable {
    /// What sync does, or would do, with one client of the IdP's realm.
    public struct Entry: Sendable {
        /// What sync does with one client.
        public enum Action: String, Sendable {
            /// New to the vault: added as `ref`.
            case add
            /// In the vault with another secret: the IdP's becomes current, the old one previous.
            case update
            /// In the vault with this secret already.
            case unchanged
            /// Not brought in; `reason` says why.
            case skip
        }

        /// The client's `clientId` at the IdP.
        public var clientID: String
        /// Its name in the vault: the client that holds this client_id already, or the name it is
        /// added under; `nil` for a skip before a name was chosen.
        public var ref: ClientRef?
        /// What sync does with it.
        public var action: Action
        /// Why it is skipped or updated, in a few words; empty for `add` and `unchanged`.
        public var reason: String
        /// What would bring a skipped client in, when something would.
        public var next: [NextStep] = []
    }

    let broker: TokenBroker

    /// A sync that reads through `broker`'s vault and fetches its admin tokens through it.
    public init(broker: TokenBroker) { self.broker = broker }

    /// What a sync would do, with the secrets it read (sealed into the vault only by `apply`).
    public struct Plan: Sendable {
        /// The realm the plan is for.
        public let realm: Name
        /// One entry per client of the IdP's realm that matched, skipped ones included.
        public let entries: [Entry]
        fileprivate let secrets: [ClientRef: ClientSecret]

        /// How many clients `apply` adds or updates.
        public var changes: Int { entries.filter { $0.action == .add || $0.action == .update }.count }
    }

    /// Lists the realm's clients, keeps the confidential ones with a service account whose
    /// clientId matches `match` (a shell glob, `*` when nil), and reads their secrets. Changes
    /// nothing.
    /// - Throws: `RotationError.adminRefused` (no admin client, or it lacks view-clients to list
    ///   or manage-clients to read secrets on Keycloak 26.8+), `TokenError`, `VaultError`.
    public func plan(realm: Name, match: String? = nil) async throws -> Plan {
        let admin = try await broker.admin(for: realm)
        let vaultClients = try await broker.vault.run { try $0.vault.clients(in: realm) }
        let byClientID = Dictionary(vaultClients.map { ($0.clientID, $0) }, uniquingKeysWith: { first, _ in first })
        var takenNames = Set(vaultClients.map(\.ref.name))

        var entries: [Entry] = []
        var secrets: [ClientRef: ClientSecret] = [:]
        for representation in try await admin.clients() {
            guard let clientID = representation.clientID, let uuid = representation.id else { continue }
            if let match, !FileSystem.matches(clientID, glob: match) { continue }
            guard representation.usesClientCredentials else {
                if match != nil { entries.append(Entry(clientID: clientID, action: .skip, reason: "not a confidential client with a service account")) }
                continue
            }
            let existing = byClientID[clientID]
            guard let ref = existing?.ref ?? Self.name(for: clientID, in: realm, avoiding: &takenNames) else {
                entries.append(Entry(clientID: clientID, action: .skip, reason: "no vault name can be made from this clientId", next: [.addClient]))
                continue
            }
            guard let secret = try await admin.secret(of: uuid) else {
                entries.append(Entry(clientID: clientID, ref: ref, action: .skip, reason: "the IdP has no secret for it"))
                continue
            }
            if let existing {
                let same = try await broker.vault.run { try $0.currentSecret(of: existing.ref).matches(secret) }
                entries.append(Entry(clientID: clientID, ref: ref, action: same ? .unchanged : .update, reason: same ? "" : "the IdP holds another secret"))
            } else {
                entries.append(Entry(clientID: clientID, ref: ref, action: .add, reason: ""))
            }
            secrets[ref] = secret
        }
        return Plan(realm: realm, entries: entries, secrets: secrets)
    }

    /// Adds and updates what `plan` found, in one transaction: all of it or nothing.
    /// - Throws: `VaultError` (`.alreadyExists` when a client was added under a planned name since
    ///   the plan was made, `.corrupted`, `.busy`, `.io`); nothing is changed then.
    public func apply(_ plan: Plan) async throws {
        let secrets = plan.secrets
        try await broker.vault.run { vault in
            try vault.vault.store.write {
                for entry in plan.entries {
                    guard let ref = entry.ref, let secret = secrets[ref] else { continue }
                    switch entry.action {
                    case .add: try vault.addClient(ref, ClientSettings(clientID: entry.clientID), secret: secret)
                    case .update: try vault.replaceSecret(of: ref, with: secret, detail: "read from the IdP by realm sync")
                    case .unchanged, .skip: break
                    }
                }
            }
        }
    }

    /// A vault name for `clientID`: lower-cased, other characters than `a-z 0-9 . _ -` as `-`,
    /// cut to 63, and `-2`, `-3`… when taken.
    static func name(for clientID: String, in realm: Name, avoiding taken: inout Set<Name>) -> ClientRef? {
        var base = String(clientID.lowercased().unicodeScalars.map { scalar -> Character in
            ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_" || scalar == "-" ? Character(scalar) : "-"
        })
        while let first = base.first, !(first.isLetter || first.isNumber) { base.removeFirst() }
        guard let name = try? Name(String(base.prefix(63))) else { return nil }
        for candidate in [name] + (2...99).map(name.suffixed) where !taken.contains(candidate) {
            taken.insert(candidate)
            return ClientRef(realm: realm, name: candidate)
        }
        return nil
    }
}
