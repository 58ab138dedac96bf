package import CloakroomCrypto

/// Clients and the versions of their secrets.
package protocol ClientStore {
    /// Every client (of realm `realm`), by realm and name.
    func all(realm: String?) throws -> [ClientRecord]
    func named(realm: String, name: String) throws -> ClientRecord?
    /// The client rows of realm row `realmRowID`, oldest first.
    func rowIDs(realmRowID: Int64) throws -> [Int64]
    /// Clients with no current secret version, as (realm, name), by realm and name.
    func withoutCurrentSecret() throws -> [(realm: String, name: String)]

    /// Adds client `name` to realm row `realmRowID`; returns its row id.
    func insert(realmRowID: Int64, name: String, _ fields: ClientFields, at now: Int64) throws -> Int64
    /// Replaces the fields of client row `rowID`; `forgetIdPUUID` when it now stands for another client at the IdP.
    func update(rowID: Int64, _ fields: ClientFields, forgetIdPUUID: Bool, at now: Int64) throws
    func setRotateEvery(_ seconds: Int64?, rowID: Int64, at now: Int64) throws
    /// Gives client row `rowID` the name `name` in its realm (unique there: a taken name fails).
    func rename(rowID: Int64, to name: String, at now: Int64) throws
    /// Removes the client with its secret versions, cached tokens and rotation journal.
    func remove(rowID: Int64) throws
    /// The client's id at the Keycloak admin API, when learnt before.
    func idpUUID(rowID: Int64) throws -> String?
    func setIdPUUID(_ uuid: String?, rowID: Int64) throws

    func insertSecret(clientRowID: Int64, version: Int64, state: SecretState, sealed: SealedBox, createdAt: Int64, stateChangedAt: Int64) throws
    func secrets(_ selection: SecretSelection) throws -> [SealedSecretRecord]
    /// Replaces the sealed value of secret version row `rowID`.
    func reseal(rowID: Int64, _ sealed: SealedBox) throws
    /// The highest version client row `clientRowID` ever had (0 for none): the next is one more.
    func highestVersion(clientRowID: Int64) throws -> Int64
    /// The newest version of the client in `state`, if any.
    func newestVersion(clientRowID: Int64, in state: SecretState) throws -> Int64?
    /// Moves the client's versions in state `from` (any but retired when `nil`; only `version`
    /// when given) to `to`; a move to `retired` drops their sealed values. Returns how many moved.
    @discardableResult
    func moveSecrets(clientRowID: Int64, from: SecretState?, version: Int64?, to: SecretState, at now: Int64) throws -> Int
    /// Retires previous versions kept longer than their realm's keep-previous period (of one
    /// client, or all). Returns how many.
    @discardableResult
    func retireExpiredPrevious(clientRowID: Int64?, now: Int64) throws -> Int
}
