import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct MigrationTests {
    /// The BLAKE2b digest of every shipped migration. A shipped migration is history: if this test
    /// fails, do not update the digest — put the change in a new migration file instead.
    static let shipped: [Int: String] = [
        1: "547fcb1032c3df9b9f726f77e166f3bb69df77ca19b50ebf2a00c15f2047a663",
        2: "b02d6931e3895289a5f9bf4059d9e4a69135e72f9dfd8f1ff54d23053819933c",
        3: "702441e231666c86a9f336f014de3a230d622acd878eb13ba8ee250c2d5503c0",
        4: "8c4e289a9858cb3a6b69aabbe9dcfda6242d2f12396e1140b4f63bdedcfb51d1",
        5: "9ad3edc0add01549b9031df8aa825deddd95c115572315c98d413f44450465df",
        6: "8f1e6b9768a30485bc17c05c6a64c56e4418886ff05189a5ef28c0c04b0e2a9b",
        7: "3f3ca84d9536a0919549b28cecced91d213bbe245bb49c595c631726f648418a",
        8: "df1d25b4df23df9fd313d61120e04e440da221e2c013b5cf47b1a15879659a67",
        9: "b42cce13d001122c558e5b3d2a55cddff3884b1a6437990c83560a76250b8b53",
        10: "f8ab615bbaa9d40b97c43295ec28105d9aa550ea0f170e6a06e394dd2b3b65ad",
    ]

    @Test func shippedMigrationsAreUnchanged() {
        for (version, digest) in Self.shipped {
            let migration = Migration.embedded.first { $0.version == version }
            #expect(migration?.checksum == digest, "migration \(version) was edited after it shipped")
        }
    }

    @Test func embeddedMigrationsAreExactlyTheFiles() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(files == Migration.embedded.map(\.name))
        for migration in Migration.embedded {
            let text = try String(contentsOf: folder.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(text == migration.sql, "\(migration.name) differs from what the binary embeds")
        }
        #expect(Migration.embedded.map(\.version) == Array(1...Migration.embedded.count))
    }

    @Test func appliedMigrationsAreRecordedWithTheirDigests() throws {
        let fixture = try Fixture()
        let applied = try Migrator.applied(in: fixture.vault.database)
        #expect(applied.map(\.version) == Migration.embedded.map(\.version))
        #expect(applied.map(\.checksum) == Migration.embedded.map(\.checksum))
        let applicationID = try fixture.vault.database.row("PRAGMA application_id") { $0.integer(0) }
        #expect(applicationID == Migrator.applicationID)
        let journal = try fixture.vault.database.row("PRAGMA journal_mode") { $0.text(0) }
        #expect(journal == "wal")
    }

    @Test func vaultWithNewerSchemaIsRefusedAndUntouched() throws {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.tamper("INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'x', 0)")
        let before = try fixture.contents()
        #expect {
            try Vault.open(at: fixture.path)
        } throws: { ($0 as? VaultError)?.code == .newerSchema && "\($0)".contains("schema version 99") }
        #expect(try fixture.contents() == before)
    }
}
