internal import CloakroomStore

/// The vault's schema against what the shipped migrations make of an empty schema, for `doctor`:
/// a dropped append-only trigger, an added index or an altered table shows by name, as on SQLite.
extension PostgresMigrator {
    /// How the vault's schema differs from the shipped one, by object name; `nil` when this role
    /// may not make the scratch schema the comparison needs (a runtime role: only the owner, with
    /// CREATE on the database, compares).
    ///
    /// The shipped schema is made in a scratch schema inside a transaction that is rolled back
    /// whatever happens: nothing is left behind, and nobody else ever sees it.
    func schemaDifferences() throws -> [Migrator.SchemaDifference]? {
        let mayCreate = try session.row("SELECT has_database_privilege(current_database(), 'CREATE') AS may", []) { $0.integer("may") != 0 }
        guard try ownsSchema(), mayCreate == true else { return nil }
        let scratch = "cloakroom_shipped_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try session.execute(script: "BEGIN")
        defer { _ = try? session.execute(script: "ROLLBACK") }
        try session.execute(script: "CREATE SCHEMA \(scratch)")
        try session.execute(script: "SET LOCAL search_path = \(scratch)")
        for migration in Migration.embeddedPostgreSQL {
            for statement in Self.statements(migration.sql) { try session.execute(script: statement) }
        }
        try session.execute(script: Self.migrationsTable("schema_migrations"))
        return Migrator.differences(shipped: try objects(in: scratch), found: try objects(in: session.location.schema))
    }

    /// Every table (columns with their types, nullability, defaults and identity; constraints),
    /// index, trigger and function of schema `name`, as the catalog describes them, with the
    /// schema's name taken out of the definitions so that two schemas compare.
    private func objects(in name: String) throws -> [String: Migrator.SchemaObject] {
        let unqualified = { (sql: String) in sql.replacing(name + ".", with: "") }
        var objects: [String: Migrator.SchemaObject] = [:]
        let tables = try session.rows(
            """
            SELECT c.relname::text AS name,
                   (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                      || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
                                      || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
                                      || CASE WHEN a.attidentity <> '' THEN ' IDENTITY' ELSE '' END, ', ' ORDER BY a.attnum)
                    FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
                   coalesce((SELECT string_agg(pg_get_constraintdef(k.oid), '; ' ORDER BY pg_get_constraintdef(k.oid))
                             FROM pg_constraint k WHERE k.conrelid = c.oid), '') AS constraints
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND c.relkind IN ('r', 'v', 'm', 'p')
            """, [.text(name)]) { row in
            Migrator.SchemaObject(type: "table", name: row.text("name"), table: row.text("name"),
                                  sql: unqualified("(" + row.text("columns") + ") " + row.text("constraints")))
        }
        let indexes = try session.rows("SELECT indexname::text AS name, tablename::text AS tbl, indexdef AS sql FROM pg_indexes WHERE schemaname = ?",
                                       [.text(name)]) { row in
            Migrator.SchemaObject(type: "index", name: row.text("name"), table: row.text("tbl"), sql: unqualified(row.text("sql")))
        }
        let triggers = try session.rows(
            """
            SELECT t.tgname::text AS name, c.relname::text AS tbl, pg_get_triggerdef(t.oid) AS sql
            FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = ? AND NOT t.tgisinternal
            """, [.text(name)]) { row in
            Migrator.SchemaObject(type: "trigger", name: row.text("name"), table: row.text("tbl"), sql: unqualified(row.text("sql")))
        }
        // An aggregate has no definition pg_get_functiondef can print: its signature stands for it.
        let functions = try session.rows(
            """
            SELECT p.proname::text AS name,
                   CASE WHEN p.prokind = 'f' THEN pg_get_functiondef(p.oid)
                        ELSE p.prokind::text || ' ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' END AS sql
            FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = ?
            """, [.text(name)]) { row in
            Migrator.SchemaObject(type: "function", name: row.text("name"), table: "", sql: unqualified(row.text("sql")))
        }
        for object in tables + indexes + triggers + functions { objects[object.type + " " + object.name] = object }
        return objects
    }
}
