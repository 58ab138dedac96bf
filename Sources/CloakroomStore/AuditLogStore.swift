/// One audit event as stored, without its MAC.
package struct AuditEventRecord: Sendable, Equatable {
    package var seq: Int64
    /// Unix milliseconds.
    package var time: Int64
    package var user: String
    package var host: String
    package var command: String
    package var action: String
    package var realm: String?
    package var client: String?
    package var outcome: String
    package var detail: String

    package init(seq: Int64, time: Int64, user: String, host: String, command: String, action: String, realm: String?,
                 client: String?, outcome: String, detail: String) {
        self.seq = seq
        self.time = time
        self.user = user
        self.host = host
        self.command = command
        self.action = action
        self.realm = realm
        self.client = client
        self.outcome = outcome
        self.detail = detail
    }
}

/// The audit log's head: how many events it holds and the last one's MAC, MAC'd itself.
package struct AuditHeadRecord: Sendable {
    package var count: Int64
    package var lastMAC: [UInt8]
    package var mac: [UInt8]

    package init(count: Int64, lastMAC: [UInt8], mac: [UInt8]) {
        self.count = count
        self.lastMAC = lastMAC
        self.mac = mac
    }
}

/// The audit log: append-only events (the store refuses updates and deletes except a rekey's
/// re-MAC) and a head. The domain computes every MAC; the store keeps them.
package protocol AuditLogStore {
    /// Events, oldest first: of client `client` of `realm`, or of `realm` (its events and its
    /// clients'), since `since` (Unix milliseconds), the newest `limit`.
    func events(realm: String?, client: String?, since: Int64?, limit: Int?) throws -> [AuditEventRecord]
    /// Calls `body` with every event and its MAC, in order, without holding them all in memory.
    func forEachEvent(_ body: (AuditEventRecord, [UInt8]) throws -> Void) throws
    /// Up to `limit` events after `seq`, in order.
    func events(after seq: Int64, limit: Int) throws -> [AuditEventRecord]
    /// The newest event's sequence number and MAC.
    func last() throws -> (seq: Int64, mac: [UInt8])?
    func head() throws -> AuditHeadRecord?
    /// `head()` and `last()` in one query (what an append reads).
    func tail() throws -> (head: AuditHeadRecord?, last: (seq: Int64, mac: [UInt8])?)
    /// Called in a write transaction before `head()` and `last()` are read for an append: a
    /// store whose writers may run at once (`VaultStore.write(durable:clients:_:)`) holds the log
    /// here until the transaction ends, so that appends form one chain.
    func holdForAppend() throws

    func append(_ event: AuditEventRecord, mac: [UInt8]) throws
    func setHead(_ head: AuditHeadRecord) throws
    /// Replaces the MAC of event `seq` (rekey only).
    func setMAC(_ mac: [UInt8], seq: Int64) throws
}
