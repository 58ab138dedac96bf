/// The vault's schema against what the shipped migrations make of an empty database: a dropped
/// append-only trigger, an added trigger or index, or an altered table shows by name.
extension Migrator {
    /// One entry of `sqlite_master`.
    package struct SchemaObject: Equatable {
        package var type: String
        package var name: String
        package var table: String
        package var sql: String?

        package init(type: String, name: String, table: String, sql: String?) {
            (self.type, self.name, self.table, self.sql) = (type, name, table, sql)
        }
    }

    /// How a vault's schema object differs from the shipped one of the same name.
    package struct SchemaDifference: Equatable {
        package enum Kind: Equatable {
            /// The migrations create it; the vault lacks it.
            case missing
            /// The vault has it; no migration creates it.
            case unexpected
            /// Both have it, with different type, table or SQL.
            case changed
        }

        package var kind: Kind
        /// The object as the vault has it (`unexpected`, `changed`) or as shipped (`missing`).
        package var object: SchemaObject
    }

    /// Every table, index, trigger and view of `database`, by name. SQLite's own objects
    /// (`sqlite_%`: automatic indexes, `sqlite_sequence`, `sqlite_stat1`) are left out: SQLite
    /// makes them itself.
    package static func schema(of database: Database) throws -> [String: SchemaObject] {
        let objects = try database.rows("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'") {
            SchemaObject(type: $0.text(0), name: $0.text(1), table: $0.text(2), sql: $0.optionalText(3))
        }
        return Dictionary(objects.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// What the embedded migrations make of an empty in-memory database.
    ///
    /// Compared as SQLite stores it, without normalising anything: `ALTER TABLE … ADD COLUMN`
    /// edits the stored `CREATE TABLE` text, but the same migrations applied in the same order
    /// edit it the same way in the vault and here.
    package static func shippedSchema() throws -> [String: SchemaObject] {
        let database = try Database(path: ":memory:", mode: .create, busyTimeout: .zero)
        try migrate(database, now: 0)
        return try schema(of: database)
    }

    /// How `database`'s schema differs from the shipped one, by object name.
    package static func schemaDifferences(in database: Database) throws -> [SchemaDifference] {
        differences(shipped: try shippedSchema(), found: try schema(of: database))
    }

    /// What is missing from `found`, added to it, or changed in it, against `shipped`, by key;
    /// for either backend.
    package static func differences(shipped: [String: SchemaObject], found: [String: SchemaObject]) -> [SchemaDifference] {
        var differences: [SchemaDifference] = []
        for name in Set(shipped.keys).union(found.keys).sorted() {
            switch (shipped[name], found[name]) {
            case (let expected?, nil): differences.append(SchemaDifference(kind: .missing, object: expected))
            case (nil, let extra?): differences.append(SchemaDifference(kind: .unexpected, object: extra))
            case (let expected?, let actual?) where expected != actual: differences.append(SchemaDifference(kind: .changed, object: actual))
            default: break
            }
        }
        return differences
    }
}
