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
    /// What a client's tag covers, as columns over `c` (clients) joined with `r` (its realm),
    /// then the stored tag. A query that checks a tag selects these first, so the check costs no
    /// query of its own (the cached-token read carries them).
    ///
    /// Secret versions and open rotations are listed with `group_concat`, whose order SQLite does
    /// not promise: the lists are sorted before they are MAC'd. Retired versions are left out
    /// (they hold no secret, and a long-lived client has many). A version's `state_changed_at` is
    /// covered too: it decides when `--due` rotates and when a previous secret is retired.
    static let clientTagColumns = """
        c.id, r.id, r.name, r.keep_previous, c.name, c.client_id, c.auth_method, c.scopes, c.audience, c.rotate_every,
        (SELECT group_concat(v.version || ' ' || v.state || ' ' || v.state_changed_at) FROM secret_versions v
         WHERE v.client_id = c.id AND v.state <> 'retired'),
        (SELECT group_concat(j.id || ' ' || j.from_version || ' ' || j.to_version || ' ' || j.mode || ' ' || j.state)
         FROM rotations j WHERE j.client_id = c.id AND j.state IN ('prepared', 'pushed')),
        c.trust_tag
        """
    /// How many columns `clientTagColumns` selects.
    static let clientTagColumnCount: Int32 = 13

    /// One client row as its tag sees it.
    struct ClientTagInput {
        var rowID: Int64
        var realm: String
        var name: String
        var context: AssociatedData
        var tag: [UInt8]?

        var ref: ClientRef { ClientRef(realm: Name(trusted: realm), name: Name(trusted: name)) }
    }

    /// Reads `clientTagColumns` from `row`, starting at column `first`.
    func clientTagInput(_ row: Row, from first: Int32 = 0) -> ClientTagInput {
        var context = AssociatedData("cloakroom client-row v1")
        context.append(bytes: vault.vaultID)
        context.append(row.integer(first))          // the client's row
        context.append(row.integer(first + 1))      // its realm's row
        let realm = row.text(first + 2)
        context.append(realm)
        context.append(row.integer(first + 3))      // the realm's keep_previous
        let name = row.text(first + 4)
        context.append(name)
        for column in first + 5...first + 7 { context.append(row.text(column)) }  // client_id, auth method, scopes
        context.append(optional: row.optionalText(first + 8))
        context.append(row.isNull(first + 9) ? -1 : row.integer(first + 9))
        for column in first + 10...first + 11 {
            let items = (row.optionalText(column) ?? "").split(separator: ",").sorted()
            context.append(Int64(items.count))
            for item in items { context.append(String(item)) }
        }
        return ClientTagInput(rowID: row.integer(first), realm: realm, name: name, context: context, tag: row.optionalBlob(first + 12))
    }

    /// - Throws: `VaultError.corrupted` naming the client when its tag is missing or does not verify.
    func verifyClientTag(_ input: ClientTagInput) throws {
        guard let tag = input.tag else {
            let ref = input.ref
            throw VaultError(.corrupted, "client \(ref) has no authentication tag: it was stored by a cloak from before client rows were authenticated, or its tag was removed outside cloak. Nothing is sent or served for it until you accept it: check `cloak client show \(ref)` (client_id, realm, secret version), then run `cloak client update \(ref) --reauthenticate` (or `cloak client update \(ref.realm) --reauthenticate` for every such client of the realm). If it is not what you stored, restore the vault from a backup, or run `cloak client remove \(ref)` and add it again with its secret.")
        }
        guard clientTrustKey.verify(tag, for: input.context) else {
            let ref = input.ref
            throw VaultError(.corrupted, "client \(ref) was changed outside cloak: its name, realm, client_id, auth method, scopes, audience, rotation schedule, its realm's keep-previous period, which secret version is current, previous or pending, or its rotation journal no longer match what cloak wrote. Nothing is sent or served for it: the name may now stand for another client's secret. Restore the vault from a backup; or run `cloak client remove \(ref)` and add it again with its secret from the IdP. Only if you made the change yourself and `cloak client show \(ref)` is right, accept it with `cloak client update \(ref) --reauthenticate`.")
        }
    }

    private static let clientTagQuery = "SELECT " + clientTagColumns + " FROM clients c JOIN realms r ON r.id = c.realm_id "

    /// - Throws: `VaultError.notFound`, or `.corrupted` when `ref`'s row was changed outside cloak.
    func requireAuthentic(_ ref: ClientRef) throws {
        guard let input = try database.row(Self.clientTagQuery + "WHERE r.name = ? AND c.name = ?",
                                           .text(ref.realm.rawValue), .text(ref.name.rawValue), read: { clientTagInput($0) }) else {
            _ = try vault.client(ref)  // says which of realm and client is missing
            throw VaultError(.notFound, "no client '\(ref)' in this vault.")
        }
        try verifyClientTag(input)
    }

    /// - Throws: `VaultError.corrupted` when the client in row `rowID` was changed outside cloak.
    func requireAuthentic(clientRowID rowID: Int64) throws {
        guard let input = try database.row(Self.clientTagQuery + "WHERE c.id = ?", .integer(rowID), read: { clientTagInput($0) }) else {
            throw VaultError(.notFound, "a client was removed meanwhile; run `cloak client list`.")
        }
        try verifyClientTag(input)
    }

    /// - Throws: `VaultError.corrupted` for the first client of realms `realmRowIDs` whose row
    ///   does not verify: an export must not carry one client's secret under another's name.
    func requireAuthenticClients(inRealms realmRowIDs: [Int64]) throws {
        let marks = realmRowIDs.map { _ in "?" }.joined(separator: ", ")
        let inputs = try database.rows(Self.clientTagQuery + "WHERE c.realm_id IN (\(marks)) ORDER BY r.name, c.name",
                                       realmRowIDs.map(SQLValue.integer)) { clientTagInput($0) }
        for input in inputs { try verifyClientTag(input) }
    }

    /// Writes the tag of the client in row `rowID` for what the vault holds now. Inside the
    /// caller's transaction, after every change cloak makes to what the tag covers. `using`
    /// another vault's key: for rekey.
    func stampClient(rowID: Int64, using target: UnlockedVault? = nil) throws {
        let signer = target ?? self
        guard let input = try database.row(Self.clientTagQuery + "WHERE c.id = ?", .integer(rowID), read: { signer.clientTagInput($0) }) else { return }
        try database.execute("UPDATE clients SET trust_tag = ? WHERE id = ?", .blob(signer.clientTrustKey.tag(input.context)), .integer(rowID))
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
        try database.writeTransaction {
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
        try database.writeTransaction {
            let realmRow = try vault.realm(named: realm)
            let untagged = try database.rows("SELECT id, name FROM clients WHERE realm_id = ? AND trust_tag IS NULL ORDER BY name",
                                             .integer(realmRow.rowID)) { ($0.integer(0), ClientRef(realm: realm, name: Name(trusted: $0.text(1)))) }
            for (rowID, ref) in untagged {
                try stampClient(rowID: rowID)
                try record(.clientReauthenticated, realm: ref.realm, client: ref.name, detail: "accepted untagged, with its realm")
            }
            return untagged.map(\.1)
        }
    }

    /// Every client whose row does not verify, with why, by realm and name: for `cloak doctor`.
    func clientTagProblems() throws -> [(ClientRef, VaultError)] {
        let inputs = try database.rows(Self.clientTagQuery + "ORDER BY r.name, c.name") { clientTagInput($0) }
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
