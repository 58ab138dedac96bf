/// A vault in one SQLite file.
package final class SQLiteVaultStore: VaultStore {
    /// The connection, for queries that have not moved into a typed store yet.
    package let database: Database

    package init(_ database: Database) {
        self.database = database
        tokenCache = SQLiteTokenCache(database: database)
        clientTags = SQLiteClientTags(database: database)
    }

    package var location: String { database.path }
    package var isReadOnly: Bool { database.isReadOnly }

    /// SQLite's write lock is the file's: `BEGIN IMMEDIATE` takes it up front (see
    /// `Database.writeTransaction`), so two processes never both read and then both fail to upgrade.
    package func write<T>(durable: Bool, _ body: () throws -> T) throws -> T {
        try database.writeTransaction(durable: durable, body)
    }

    package func read<T>(_ body: () throws -> T) throws -> T {
        try database.readTransactionUnlessWriting(body)
    }

    package let tokenCache: any TokenCacheStore
    package let clientTags: any ClientTagStore
}

/// Realms in SQLite.
enum SQLiteRealms {
    /// The endpoint a realm's secrets are sealed for: its token URL, else its issuer. Said once
    /// here; every query that needs it interpolates this.
    static let endpoint = "coalesce(r.token_url, r.issuer)"
}
