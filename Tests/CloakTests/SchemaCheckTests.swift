import Foundation
import CloakroomTestSupport
import Testing

/// `cloak doctor` compares the vault's tables, indexes and triggers with what the shipped
/// migrations make: the audit log's append-only triggers dropped, or anything added or altered,
/// is a problem naming the object.
@Suite struct SchemaCheckTests {
    @Test(arguments: [
        ("DROP TRIGGER events_are_never_deleted", "events_are_never_deleted"),
        ("DROP TRIGGER events_are_append_only", "events_are_append_only"),
        ("CREATE TRIGGER keep_a_copy AFTER INSERT ON cached_tokens BEGIN SELECT 1; END", "keep_a_copy"),
        ("ALTER TABLE clients ADD COLUMN note TEXT", "clients"),
        ("DROP INDEX one_current_secret", "one_current_secret"),
        ("CREATE INDEX by_name ON clients (name)", "by_name"),
    ])
    func schemaChangedOutsideCloakIsReportedByName(sql: String, object: String) throws {
        let sandbox = try Sandbox.populated()
        try RawVault.execute(sandbox.vault, sql)
        let doctor = try sandbox.run(["doctor", "--json"])
        #expect(doctor.status == 10, "\(doctor)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(doctor.stdout.utf8)) as? [String: Any])
        let findings = (report["findings"] as? [[String: Any]]) ?? []
        #expect(findings.contains { $0["check"] as? String == "schema" && $0["severity"] as? String == "problem"
            && $0["subject"] as? String == object && ($0["message"] as? String)?.contains(object) == true }, "\(doctor)")
    }

    @Test func freshVaultHasTheShippedSchema() throws {
        let sandbox = try Sandbox.populated()
        let doctor = try sandbox.ok("doctor")
        #expect(doctor.stdout.contains("every table, index and trigger"), "\(doctor)")
    }
}
