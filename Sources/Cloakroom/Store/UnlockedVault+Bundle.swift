import CloakroomStore
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// What to do with a realm or client of a bundle whose name this vault uses already for
/// something different. A realm "differs" when it points at another identity provider (another
/// token URL); a client differs in any setting or in its secret. Identical ones are never a
/// conflict: importing one bundle twice changes nothing the second time.
public enum ConflictPolicy: String, Sendable, CaseIterable {
    /// Import nothing and name the conflicts (the default: nothing is replaced unless asked).
    case refuse
    /// Keep this vault's realm or client; the bundle's is not imported.
    case skip
    /// Replace this vault's client in place (same row, so rotation history and references stay):
    /// its settings become the bundle's, and the bundle's secret becomes a new current version
    /// (the old one kept as *previous*, or retired when the client_id changed). A realm that
    /// points at another IdP is never overwritten: that would re-point this vault's other clients.
    case overwrite
    /// Import the bundle's under the first free name `NAME-2`, `NAME-3`, … (a realm so named
    /// that points at the same IdP is used rather than skipped over).
    case rename
}

/// What an import did, realm by realm and client by client.
public struct ImportReport: Sendable {
    /// What happened to one realm or client. The raw values are what `--json` prints.
    public enum Action: String, Sendable {
        /// New in this vault.
        case added
        /// Added (or, for a realm, merged) under another name.
        case renamed
        /// A realm this vault has already, for the same IdP: its clients were merged into it.
        case merged
        /// An existing client replaced.
        case overwritten
        /// Identical already: nothing to do.
        case unchanged
        /// A conflict left as it was (`ConflictPolicy.skip`).
        case skipped
    }

    /// What happened to one realm of the bundle.
    public struct RealmOutcome: Sendable {
        /// The realm's name in the bundle.
        public var name: Name
        /// Its name in this vault; `nil` when skipped.
        public var importedAs: Name?
        /// What was done with it.
        public var action: Action
        /// A few words on why (the conflict, what differed); may be empty.
        public var detail: String
        /// What would help with it, when something was left undone.
        public var next: [NextStep] = []
    }

    /// What happened to one client of the bundle.
    public struct ClientOutcome: Sendable {
        /// The client's name in the bundle.
        public var ref: ClientRef
        /// Its name in this vault; `nil` when skipped.
        public var importedAs: ClientRef?
        /// What was done with it.
        public var action: Action
        /// A few words on why (the conflict, what differed); may be empty.
        public var detail: String
    }

    /// One outcome per realm of the bundle, in bundle order.
    public var realms: [RealmOutcome]
    /// One outcome per client of the bundle, in bundle order.
    public var clients: [ClientOutcome]

    /// How many clients had each action.
    public func count(_ action: Action) -> Int { clients.count { $0.action == action } }

    /// "2 added, 1 skipped": the clients' actions that happened, counted.
    public var summary: String {
        [Action.added, .renamed, .overwritten, .unchanged, .skipped]
            .compactMap { action in count(action) > 0 ? "\(count(action)) \(action.rawValue)" : nil }
            .joined(separator: ", ")
    }
}

extension UnlockedVault {
    /// Merges `bundle` into this vault in one transaction: all of it, or — on any error or any
    /// conflict under `.refuse` — nothing. Secrets are sealed anew under this vault's key, bound
    /// to their new rows. Each client added or overwritten, and each realm added, is an
    /// `import` audit event, and so is the import as a whole (naming `source`).
    ///
    /// A realm's admin client is set when that client was imported too (under whatever name);
    /// a realm that exists already keeps all of its settings.
    /// - Throws: `VaultError` `.conflict` (conflicts under `.refuse`, a realm for another IdP
    ///   under `.overwrite`, an overwrite of a client in the middle of a rotation); `.notFound`
    ///   (a realm's CA file missing on this machine); `.invalidInput` (a setting this vault refuses).
    public func importBundle(_ bundle: CredentialBundle, onConflict policy: ConflictPolicy = .refuse, from source: String = "a bundle") throws -> ImportReport {
        try vault.store.write {
            var plan = try ImportPlan(bundle, policy: policy, in: self)
            try plan.apply(bundle, to: self)
            let report = plan.report
            try record(.imported, detail: "bundle \(source), \(policy.rawValue) on conflict: \(bundle.clients.count) client(s)" +
                       (report.clients.isEmpty ? "" : ": " + report.summary))
            return report
        }
    }

    /// The realm `name`, or `nil` when this vault has none (imports of bundles and .env files).
    func existingRealm(_ name: Name) throws -> Realm? {
        do { return try vault.realm(named: name) } catch let error as VaultError where error.code == .notFound { return nil }
    }

    /// The client `ref`, or `nil` when this vault has none.
    func existingClient(_ ref: ClientRef) throws -> Client? {
        do { return try vault.client(ref) } catch let error as VaultError where error.code == .notFound { return nil }
    }

    /// Replaces client `existing` in place with the bundle's `client`; inside the caller's transaction.
    /// Returns what changed, for the report and the audit event.
    fileprivate func overwrite(_ existing: Client, in realm: Realm, with client: BundledClient) throws -> String {
        try amendingClient(rowID: existing.rowID) { try overwriteChecked(existing, in: realm, with: client) }
    }

    private func overwriteChecked(_ existing: Client, in realm: Realm, with client: BundledClient) throws -> String {
        let now = vault.now
        let row = existing.rowID
        let clientIDChanged = existing.clientID != client.settings.clientID
        let sameSecret = (try? currentSecret(of: existing.ref))?.matches(client.secret) ?? false
        try vault.store.clients.update(rowID: row, client.settings.fields(rotateEvery: client.rotateEvery), forgetIdPUUID: clientIDChanged, at: now)
        // Tokens were issued for the old settings or secret.
        try vault.store.tokenCache.remove(clientRowID: row)
        guard clientIDChanged || !sameSecret else {
            return "settings replaced, the same secret stays current (version \(existing.secretVersion ?? 0))"
        }
        let next = Int(try vault.store.clients.highestVersion(clientRowID: row)) + 1
        let detail: String
        if clientIDChanged {
            // Older versions are sealed for the old client_id and belong to another client at the
            // IdP: they could never be used again (nor rolled back to), so they are retired.
            try vault.store.clients.moveSecrets(clientRowID: row, from: nil, version: nil, to: .retired, at: now)
            detail = "client_id \(existing.clientID) → \(client.settings.clientID): secret version \(next) current, earlier versions retired"
        } else {
            try vault.store.clients.moveSecrets(clientRowID: row, from: .current, version: nil, to: .previous, at: now)
            detail = "secret version \(next) current, version \(existing.secretVersion ?? 0) kept as previous"
        }
        try insertCurrentSecret(client.secret, version: next, clientRowID: existing.rowID, endpoint: realm.secretEndpoint,
                                clientID: client.settings.clientID, since: client.secretSince.unixSeconds)
        return detail
    }
}

/// Whether two realms send secrets to the same identity provider: the same URL secrets are
/// sealed for, or the same issuer with a token URL still to be discovered on one side.
private func sameIdentityProvider(_ a: RealmSettings, _ b: RealmSettings) -> Bool {
    (a.tokenURL ?? a.issuer) == (b.tokenURL ?? b.issuer)
        || (a.issuer != nil && a.issuer == b.issuer && (a.tokenURL == nil || b.tokenURL == nil))
}

/// Every decision of one import, made before anything is written.
private struct ImportPlan {
    enum RealmTarget {
        case new(Name, RealmSettings)
        case existing(Realm)
        case skipped
    }

    enum ClientStep {
        case insert(ClientRef)
        case overwrite(Client)
        case none
    }

    var realmTargets: [Name: RealmTarget] = [:]
    var clientSteps: [ClientImportStep] = []
    var report = ImportReport(realms: [], clients: [])

    struct ClientImportStep {
        var step: ClientStep
        var outcome: Int
    }

    init(_ bundle: CredentialBundle, policy: ConflictPolicy, in vault: UnlockedVault) throws {
        var conflicts: [String] = []
        var unsettled: [ClientRef] = []
        var newRealmNames = Set<Name>()
        for realm in bundle.realms {
            let bundled = realm.settings.tokenURL ?? realm.settings.issuer ?? ""
            var target: RealmTarget
            var outcome = ImportReport.RealmOutcome(name: realm.name, importedAs: realm.name, action: .added, detail: "")
            if let existing = try vault.existingRealm(realm.name) {
                if sameIdentityProvider(RealmSettings(existing), realm.settings) {
                    target = .existing(existing)
                    outcome.action = .merged
                    let kept = RealmSettings(existing).changes(from: realm.settings)
                    outcome.detail = kept.isEmpty ? "same settings" : "kept this vault's " + kept.map { name in name.firstRange(of: " to ").map { String(name[..<$0.lowerBound]) } ?? name }.joined(separator: ", ")
                } else {
                    let why = "this vault's realm '\(realm.name)' sends secrets to \(existing.secretEndpoint), the bundle's to \(bundled)"
                    switch policy {
                    case .refuse, .overwrite:
                        conflicts.append(why + (policy == .overwrite ? " (an overwrite would re-point this vault's other clients of it)" : ""))
                        target = .skipped
                    case .skip:
                        target = .skipped
                        outcome.importedAs = nil
                        outcome.action = .skipped
                        outcome.detail = why
                    case .rename:
                        target = .skipped
                        for n in 2... {
                            let candidate = realm.name.suffixed(n)
                            if newRealmNames.contains(candidate) { continue }
                            if let other = try vault.existingRealm(candidate) {
                                guard sameIdentityProvider(RealmSettings(other), realm.settings) else { continue }
                                target = .existing(other)
                            } else {
                                target = .new(candidate, try Self.validated(realm, as: candidate))
                                newRealmNames.insert(candidate)
                            }
                            outcome.importedAs = candidate
                            outcome.action = .renamed
                            outcome.detail = why
                            break
                        }
                    }
                }
            } else {
                target = .new(realm.name, try Self.validated(realm, as: realm.name))
                newRealmNames.insert(realm.name)
                outcome.detail = "token URL \(bundled)"
            }
            realmTargets[realm.name] = target
            report.realms.append(outcome)
        }

        var plannedNames: [Name: Set<Name>] = [:]  // per target realm: client names taken by this import
        for client in bundle.clients {
            var outcome = ImportReport.ClientOutcome(ref: client.ref, importedAs: nil, action: .skipped, detail: "")
            var step = ClientStep.none
            _ = try client.settings.validated()
            switch realmTargets[client.ref.realm] ?? .skipped {
            case .skipped:
                outcome.detail = "its realm was skipped"
            case .new(let realm, _):
                let ref = ClientRef(realm: realm, name: client.ref.name)
                step = .insert(ref)
                outcome.importedAs = ref
                outcome.action = realm == client.ref.realm ? .added : .renamed
            case .existing(let realm):
                let ref = ClientRef(realm: realm.name, name: client.ref.name)
                let renamedRealm = realm.name != client.ref.realm
                guard let existing = try vault.existingClient(ref) else {
                    step = .insert(ref)
                    outcome.importedAs = ref
                    outcome.action = renamedRealm ? .renamed : .added
                    plannedNames[realm.name, default: []].insert(ref.name)
                    break
                }
                if Self.isIdentical(existing, client, in: vault) {
                    outcome.importedAs = ref
                    outcome.action = .unchanged
                    outcome.detail = "identical"
                    break
                }
                let differences = Self.settingsDifferences(existing, client)
                let why = "\(ref) exists with " + (differences.isEmpty ? "another secret" : differences.joined(separator: ", "))
                switch policy {
                case .refuse:
                    conflicts.append(why)
                case .skip:
                    outcome.detail = why
                case .overwrite:
                    if try vault.openRotation(of: ref) != nil {
                        conflicts.append("\(ref) is in the middle of a rotation, to be settled before it is overwritten")
                        unsettled.append(ref)
                    }
                    step = .overwrite(existing)
                    outcome.importedAs = ref
                    outcome.action = .overwritten
                case .rename:
                    var n = 2
                    while try plannedNames[realm.name, default: []].contains(ref.name.suffixed(n))
                            || vault.existingClient(ClientRef(realm: realm.name, name: ref.name.suffixed(n))) != nil {
                        n += 1
                    }
                    let renamed = ClientRef(realm: realm.name, name: ref.name.suffixed(n))
                    plannedNames[realm.name, default: []].insert(renamed.name)
                    step = .insert(renamed)
                    outcome.importedAs = renamed
                    outcome.action = .renamed
                    outcome.detail = why
                }
            }
            clientSteps.append(ClientImportStep(step: step, outcome: report.clients.count))
            report.clients.append(outcome)
        }
        if !conflicts.isEmpty {
            let shown = conflicts.prefix(5).joined(separator: "; ")
            let more = conflicts.count > 5 ? " (and \(conflicts.count - 5) more)" : ""
            throw VaultError(.conflict, "the bundle conflicts with this vault: \(shown)\(more). Nothing was imported.",
                             next: unsettled.prefix(5).map { .resumeRotation($0) } + [.chooseConflictPolicy(otherThanTheOneGiven: policy != .refuse)])
        }
    }

    /// The bundle's settings for realm `name`, checked as `cloak realm add` would, without an
    /// admin client (set once its clients are in).
    static func validated(_ realm: BundledRealm, as name: Name) throws -> RealmSettings {
        var settings = realm.settings
        settings.adminClient = nil
        do {
            return try settings.validated()
        } catch let error as VaultError {
            let hint = error.code == .notFound ? " Copy the CA file to that path on this machine first." : ""
            throw VaultError(error.code, "realm '\(realm.name)' of the bundle cannot be added as '\(name)': \(error.message)\(hint) Nothing was imported.", realm: name, next: error.next)
        }
    }

    static func isIdentical(_ existing: Client, _ client: BundledClient, in vault: UnlockedVault) -> Bool {
        settingsDifferences(existing, client).isEmpty && ((try? vault.currentSecret(of: existing.ref))?.matches(client.secret) ?? false)
    }

    /// The settings in which `existing` differs from the bundle's `client`.
    static func settingsDifferences(_ existing: Client, _ client: BundledClient) -> [String] {
        var names: [String] = []
        if existing.clientID != client.settings.clientID { names.append("another client_id (\(existing.clientID))") }
        if existing.authMethod != client.settings.authMethod { names.append("another auth method") }
        if existing.scopes != client.settings.scopes { names.append("other scopes") }
        if existing.audience != client.settings.audience { names.append("another audience") }
        if existing.rotateEvery.map({ $0.components.seconds }) != client.rotateEvery { names.append("another rotation schedule") }
        return names
    }

    /// Writes the plan, inside the import's transaction.
    mutating func apply(_ bundle: CredentialBundle, to vault: UnlockedVault) throws {
        var realms: [Name: Realm] = [:]
        for (index, realm) in bundle.realms.enumerated() {
            switch realmTargets[realm.name] {
            case .new(let name, let settings):
                try vault.insertRealm(name, settings, keepPrevious: realm.keepPrevious)
                try vault.record(.imported, realm: name, detail: "realm added from the bundle's '\(realm.name)': \(settings.tokenURL.map { "token URL \($0)" } ?? "issuer \(settings.issuer ?? "")")")
                realms[realm.name] = try vault.vault.realm(named: name)
                report.realms[index].detail = report.realms[index].detail.isEmpty ? "added" : report.realms[index].detail
            case .existing(let existing):
                realms[realm.name] = existing
            case .skipped, nil:
                break
            }
        }
        var importedAs: [ClientRef: ClientRef] = [:]
        for (client, planned) in zip(bundle.clients, clientSteps) {
            let outcome = report.clients[planned.outcome]
            if let target = outcome.importedAs { importedAs[client.ref] = target }
            guard let realm = realms[client.ref.realm] else { continue }
            let detail: String
            switch planned.step {
            case .none:
                continue
            case .insert(let ref):
                try vault.insertClient(ref.name, in: realm, client.settings, secret: client.secret,
                                       rotateEvery: client.rotateEvery, secretSince: client.secretSince.unixSeconds)
                detail = (ref == client.ref ? "added" : "added as \(ref) (\(client.ref) in the bundle)") +
                    ": client_id \(client.settings.clientID), secret version 1"
            case .overwrite(let existing):
                detail = "overwritten: " + (try vault.overwrite(existing, in: realm, with: client))
            }
            report.clients[planned.outcome].detail = outcome.detail.isEmpty ? detail : outcome.detail + "; " + detail
            try vault.record(.imported, realm: realm.name, client: (outcome.importedAs ?? client.ref).name, detail: detail)
        }
        for (index, realm) in bundle.realms.enumerated() {
            guard case .new(let name, _) = realmTargets[realm.name], let admin = realm.settings.adminClient else { continue }
            if let target = importedAs[admin] {
                let realm = try vault.vault.realm(named: name)
                var settings = try vault.record(of: RealmSettings(realm))
                settings.adminClientRowID = try vault.vault.client(target).rowID
                try vault.vault.store.realms.update(rowID: realm.rowID, settings, at: vault.vault.now)
                try vault.stampTrust(realmRowID: realm.rowID)
                report.realms[index].detail += ", admin client \(target)"
            } else {
                report.realms[index].detail += "; its admin client \(admin) was not imported"
                report.realms[index].next.append(.updateRealm(name, .adminClient))
            }
        }
    }
}
