/// Agent consumers in SQLite.
package struct SQLAgentConsumers<Connection: SQLConnection>: AgentConsumerStore {
    let database: Connection

    package init(database: Connection) {
        self.database = database
    }

    private static func record(_ row: Connection.Row) -> AgentConsumerRecord {
        AgentConsumerRecord(name: row.text("name"), clients: row.text("clients"), credentialDigest: row.blob("credential_digest"),
                            createdAt: row.integer("created_at"), tag: row.blob("tag"))
    }

    package func all() throws -> [AgentConsumerRecord] {
        try database.rows("SELECT name, clients, credential_digest, created_at, tag FROM agent_consumers ORDER BY name", read: Self.record)
    }

    package func insert(_ consumer: AgentConsumerRecord) throws {
        _ = try database.execute("INSERT INTO agent_consumers (name, clients, credential_digest, created_at, tag) VALUES (?, ?, ?, ?, ?)",
                                 .text(consumer.name), .text(consumer.clients), .blob(consumer.credentialDigest), .integer(consumer.createdAt),
                                 .blob(consumer.tag))
    }

    package func remove(name: String) throws -> Bool {
        try database.execute("DELETE FROM agent_consumers WHERE name = ?", .text(name)) > 0
    }

    package func retag(_ tag: (AgentConsumerRecord) -> [UInt8]) throws {
        for consumer in try all() {
            _ = try database.execute("UPDATE agent_consumers SET tag = ? WHERE name = ?", .blob(tag(consumer)), .text(consumer.name))
        }
    }
}
