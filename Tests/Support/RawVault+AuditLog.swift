public import Foundation

extension RawVault {
    /// Edits a vault's audit log as someone holding the file would: the append-only triggers
    /// dropped, `sql` run, and the triggers put back exactly as migration 0004 wrote them, so that
    /// only the MAC chain (not `cloak doctor`'s schema check) can tell.
    public static func tamperWithAuditLog(_ path: String, _ sql: String) throws {
        let drop = "DROP TRIGGER events_are_append_only; DROP TRIGGER events_are_never_deleted; DROP TRIGGER audit_head_is_never_deleted;\n"
        // No empty statement in between: `execute` stops at the first one.
        var edit = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        if !edit.hasSuffix(";") { edit += ";" }
        try execute(path, drop + edit + "\n" + (try appendOnlyTriggers()))
    }

    /// The `CREATE TRIGGER` statements of migrations/0004_audit.sql, as written there.
    static func appendOnlyTriggers() throws -> String {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations/0004_audit.sql")
        let sql = try String(contentsOf: file, encoding: .utf8)
        guard let start = sql.range(of: "CREATE TRIGGER events_are_append_only") else {
            throw Failure(description: "migrations/0004_audit.sql no longer creates events_are_append_only")
        }
        return String(sql[start.lowerBound...])
    }
}
