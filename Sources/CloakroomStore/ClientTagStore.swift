/// Reading and writing client rows' authentication tags.
package protocol ClientTagStore {
    /// What the tags of the selected clients cover, by realm and client name.
    func tagInputs(_ selection: ClientSelection) throws -> [ClientTagRecord]

    /// Stores `tag` as the tag of client row `clientRowID`.
    func setTag(_ tag: [UInt8], clientRowID: Int64) throws

    /// The clients of realm row `realmRowID` that have no tag, by name: (row, name).
    func untaggedClients(realmRowID: Int64) throws -> [(rowID: Int64, name: String)]
}
