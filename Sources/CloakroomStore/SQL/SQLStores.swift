/// The typed stores over one connection, made once: what a backend built on `SQLConnection`
/// gives its `VaultStore` conformance (through `SQLVaultStore`), so each backend names only what
/// is its own — transactions, locks, identity, migrations.
package struct SQLStores<Connection: SQLConnection> {
    /// (A `var`: tests wrap it to count what the broker reads.)
    package var tokenCache: any TokenCacheStore
    package let clientTags: any ClientTagStore
    package let agentConsumers: any AgentConsumerStore
    package let keyslots: any KeyslotStore
    package let realms: any RealmStore
    package let clients: any ClientStore
    package let rotations: any RotationJournalStore
    package let auditLog: any AuditLogStore
    package let wholeVault: any WholeVaultStore

    /// `resetIdentity`: see `SQLWholeVault`.
    package init(_ connection: Connection, resetIdentity: @escaping (String) -> [String] = { _ in [] }) {
        tokenCache = SQLTokenCache(database: connection)
        clientTags = SQLClientTags(database: connection)
        agentConsumers = SQLAgentConsumers(database: connection)
        keyslots = SQLKeyslots(database: connection)
        realms = SQLRealms(database: connection)
        clients = SQLClients(database: connection)
        rotations = SQLRotationJournal(database: connection)
        auditLog = SQLAuditLog(database: connection)
        wholeVault = SQLWholeVault(database: connection, resetIdentity: resetIdentity)
    }
}

/// A `VaultStore` whose aggregates are the shared SQL stores: the aggregate properties come
/// from here.
package protocol SQLVaultStore: VaultStore {
    associatedtype Connection: SQLConnection
    var stores: SQLStores<Connection> { get set }
}

extension SQLVaultStore {
    package var tokenCache: any TokenCacheStore {
        get { stores.tokenCache }
        set { stores.tokenCache = newValue }
    }
    package var clientTags: any ClientTagStore { stores.clientTags }
    package var agentConsumers: any AgentConsumerStore { stores.agentConsumers }
    package var keyslots: any KeyslotStore { stores.keyslots }
    package var realms: any RealmStore { stores.realms }
    package var clients: any ClientStore { stores.clients }
    package var rotations: any RotationJournalStore { stores.rotations }
    package var auditLog: any AuditLogStore { stores.auditLog }
    package var wholeVault: any WholeVaultStore { stores.wholeVault }
}
