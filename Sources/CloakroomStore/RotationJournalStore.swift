/// The rotation journal: one row per rotation, written before anything is sent to the IdP.
package protocol RotationJournalStore {
    /// The open (prepared or pushed) rotation of client `name` of `realm`.
    func open(realm: String, client name: String) throws -> RotationRecord?
    /// Every open rotation, by realm and client.
    func allOpen() throws -> [RotationRecord]
    /// Opens a journal row in state `prepared`; returns its id.
    func insert(clientRowID: Int64, from: Int64, to: Int64, mode: String, at now: Int64) throws -> Int64
    func setState(id: Int64, _ state: String, detail: String, at now: Int64) throws
    /// The state of journal row `id`, if it exists.
    func state(id: Int64) throws -> String?
    /// Every client's rotation settings and history (of realm `realm`, and only client `client`
    /// of it when given), by realm and name.
    func statuses(realm: String?, client: String?) throws -> [RotationStatusRecord]
}
