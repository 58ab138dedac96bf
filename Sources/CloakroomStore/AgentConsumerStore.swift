/// The agent's TCP consumers: a name, the client globs it may ask for, its credential's digest
/// and the tag over them. The domain makes and checks the tag; a store keeps the rows.
package protocol AgentConsumerStore {
    func all() throws -> [AgentConsumerRecord]
    /// - Throws: `StoreError` (a constraint) when the name or the digest exists already.
    func insert(_ consumer: AgentConsumerRecord) throws
    /// Whether a consumer of that name was there.
    func remove(name: String) throws -> Bool
    /// Re-makes every tag with `tag` (rekey).
    func retag(_ tag: (AgentConsumerRecord) -> [UInt8]) throws
}

/// One consumer row.
package struct AgentConsumerRecord: Sendable {
    package var name: String
    /// Space-separated `REALM/NAME` globs.
    package var clients: String
    package var credentialDigest: [UInt8]
    /// Unix seconds.
    package var createdAt: Int64
    package var tag: [UInt8]

    package init(name: String, clients: String, credentialDigest: [UInt8], createdAt: Int64, tag: [UInt8]) {
        (self.name, self.clients, self.credentialDigest, self.createdAt, self.tag) = (name, clients, credentialDigest, createdAt, tag)
    }
}
