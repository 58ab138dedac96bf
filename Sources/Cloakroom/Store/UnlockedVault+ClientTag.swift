import CloakroomCrypto
import CloakroomStore

/// Client rows are authenticated (migration 0008): a sealed secret binds its client's *row*, not
/// the name it is asked for by, so without this tag swapping two clients' names in the file would
/// hand one client's token out under the other's name, and `cloak rotate` would change the wrong
/// client's secret at the IdP. The tag is a MAC under a vault subkey over everything that decides
/// which credential a name stands for and how it is used; it is checked before a cached token is
/// served, before any token request and before every rotation step, and re-made inside the
/// transaction of every change cloak makes to what it covers.
extension UnlockedVault {
    /// One client row as its tag sees it.
    struct ClientTagInput {
        var rowID: Int64
        var realm: String
        var name: String
        var context: AssociatedData
        var tag: [UInt8]?

        var ref: ClientRef { ClientRef(realm: Name(trusted: realm), name: Name(trusted: name)) }
    }

    /// What `record`'s tag is a MAC of. The lists of versions and open rotations come from the
    /// store in no promised order (SQLite's `group_concat`): they are sorted first.
    func clientTagInput(_ record: ClientTagRecord) -> ClientTagInput {
        var context = AssociatedData("cloakroom client-row v1")
        context.append(bytes: vault.vaultID)
        context.append(record.clientRowID)
        context.append(record.realmRowID)
        context.append(record.realm)
        context.append(record.keepPrevious)
        context.append(record.name)
        context.append(record.clientID)
        context.append(record.authMethod)
        context.append(record.scopes)
        context.append(optional: record.audience)
        context.append(record.rotateEvery ?? -1)
        // Added by migration 0009: covered only when set, so that tags made before stay valid
        // (and setting or clearing it changes what the tag covers either way).
        if let realmRotateEvery = record.realmRotateEvery {
            context.append("realm rotate-every")
            context.append(realmRotateEvery)
        }
        for list in [record.versions, record.openRotations] {
            let items = list.sorted()
            context.append(Int64(items.count))
            for item in items { context.append(item) }
        }
        return ClientTagInput(rowID: record.clientRowID, realm: record.realm, name: record.name, context: context, tag: record.tag)
    }

    func verifyClientTag(_ record: ClientTagRecord) throws {
        try verifyClientTag(clientTagInput(record))
    }

    /// - Throws: `VaultError.corrupted` naming the client when its tag is missing or does not verify.
    func verifyClientTag(_ input: ClientTagInput) throws {
        guard let tag = input.tag else {
            let ref = input.ref
            throw VaultError(.corrupted, "client \(ref) has no authentication tag: it was stored by a Cloakroom from before client rows were authenticated, or its tag was removed outside cloak. Nothing is sent or served for it until you check it (client_id, realm, secret version) and accept it. If it is not what you stored, restore the vault from a backup, or store it again with its secret.",
                             client: ref, next: [.showClient(ref), .reauthenticate(ref), .reauthenticateRealm(ref.realm), .storeSecretAgain(ref)])
        }
        guard clientTrustKey.verify(tag, for: input.context) else {
            let ref = input.ref
            throw VaultError(.corrupted, "client \(ref) was changed outside cloak: its name, realm, client_id, auth method, scopes, audience, rotation schedule, its realm's keep-previous period, which secret version is current, previous or pending, or its rotation journal no longer match what cloak wrote. Nothing is sent or served for it: the name may now stand for another client's secret. Restore the vault from a backup, or store it again with its secret from the IdP. Only if you made the change yourself and the client shows right, accept it.",
                             client: ref, next: [.storeSecretAgain(ref), .showClient(ref), .reauthenticate(ref)])
        }
    }

    /// - Throws: `VaultError.notFound`, or `.corrupted` when `ref`'s row was changed outside cloak.
    /// - Returns: the client's row.
    @discardableResult
    func requireAuthentic(_ ref: ClientRef) throws -> Int64 {
        guard let record = try vault.store.clientTags.tagInputs(.named(realm: ref.realm.rawValue, name: ref.name.rawValue)).first else {
            _ = try vault.client(ref)  // says which of realm and client is missing
            throw VaultError(.notFound, "no client '\(ref)' in this vault.")
        }
        try verifyClientTag(record)
        return record.clientRowID
    }

    /// - Throws: `VaultError.corrupted` when the client in row `rowID` was changed outside cloak.
    func requireAuthentic(clientRowID rowID: Int64) throws {
        guard let record = try vault.store.clientTags.tagInputs(.row(rowID)).first else {
            throw VaultError(.notFound, "a client was removed meanwhile.", next: [.listClients(realm: nil)])
        }
        try verifyClientTag(record)
    }

    /// - Throws: `VaultError.corrupted` for the first client of realms `realmRowIDs` whose row
    ///   does not verify: an export must not carry one client's secret under another's name.
    func requireAuthenticClients(inRealms realmRowIDs: [Int64]) throws {
        for record in try vault.store.clientTags.tagInputs(.inRealms(realmRowIDs)) { try verifyClientTag(record) }
    }

    /// Writes the tag of the client in row `rowID` for what the vault holds now. Inside the
    /// caller's transaction, after every change cloak makes to what the tag covers. `using`
    /// another vault's key: for rekey.
    func stampClient(rowID: Int64, using target: UnlockedVault? = nil) throws {
        let signer = target ?? self
        guard let record = try vault.store.clientTags.tagInputs(.row(rowID)).first else { return }
        try vault.store.clientTags.setTag(signer.clientTrustKey.tag(signer.clientTagInput(record).context), clientRowID: rowID)
    }

    /// Checks the client in row `rowID`, runs `change` and re-makes its tag: how every change to a
    /// client row, its secret versions or its rotation journal is made. Checking first matters:
    /// re-making the tag of an edited row would make the edit look like cloak's own.
    /// Inside the caller's transaction.
    func amendingClient<T>(rowID: Int64, _ change: () throws -> T) throws -> T {
        try requireAuthentic(clientRowID: rowID)
        let result = try change()
        try stampClient(rowID: rowID)
        return result
    }

    /// Accepts client `ref` as the vault holds it now: for a row stored before client tags, or
    /// one the user changed outside cloak on purpose and has checked with `cloak client show`.
    /// - Throws: `VaultError.notFound`.
    public func reauthenticateClient(_ ref: ClientRef) throws {
        try vault.store.write {
            let client = try vault.client(ref)
            try stampClient(rowID: client.rowID)
            try record(.clientReauthenticated, realm: ref.realm, client: ref.name,
                       detail: "accepted as shown: client_id \(client.clientID), \(client.authMethod.rawValue), secret version \(client.secretVersion.map(String.init) ?? "none")")
        }
    }

    /// Accepts every client of `realm` that has no tag at all: the clients a vault from before
    /// migration 0008 holds, in one step after an upgrade. A client whose tag is there but does
    /// not verify was changed outside cloak and is left alone: it is accepted only one at a time,
    /// by `reauthenticateClient`, after someone has looked at it. Returns the clients accepted,
    /// by name.
    /// - Throws: `VaultError.notFound` when there is no such realm.
    public func reauthenticateUntaggedClients(in realm: Name) throws -> [ClientRef] {
        try vault.store.write {
            let realmRow = try vault.realm(named: realm)
            let untagged = try vault.store.clientTags.untaggedClients(realmRowID: realmRow.rowID).map {
                ($0.rowID, ClientRef(realm: realm, name: Name(trusted: $0.name)))
            }
            for (rowID, ref) in untagged {
                try stampClient(rowID: rowID)
                try record(.clientReauthenticated, realm: ref.realm, client: ref.name, detail: "accepted untagged, with its realm")
            }
            return untagged.map(\.1)
        }
    }

    /// Every client whose row does not verify, with why, by realm and name: for `cloak doctor`.
    func clientTagProblems() throws -> [(ClientRef, VaultError)] {
        let inputs = try vault.store.clientTags.tagInputs(.all).map(clientTagInput)
        return inputs.compactMap { input in
            do {
                try verifyClientTag(input)
                return nil
            } catch {
                return (input.ref, error as? VaultError ?? VaultError(.corrupted, "\(error)"))
            }
        }
    }
}
