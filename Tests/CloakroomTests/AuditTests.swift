import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// The audit log on a real vault file: what is recorded, that the MAC chain verifies, and that an
/// attacker with the file (but not the key) cannot edit, delete, reorder or cut events unseen.
@Suite struct AuditTests {
    /// A vault with a realm, two clients, a realm update, a removed client and a keyslot added
    /// and removed: seven events.
    func recorded() throws -> Fixture {
        let fixture = try Fixture()
        try fixture.populate()
        try fixture.vault.updateRealm(Name("prod")) { $0.caFile = nil; $0.allowsInsecureHTTP = true }
        try fixture.vault.removeClient(ClientRef("prod/billing"))
        let second = try KeyFile.create(at: fixture.directory.file("second.key"))
        let slot = try fixture.vault.addKeyslot(.keyFile(second, label: "ci"))
        try fixture.vault.removeKeyslot(id: slot.id)
        return fixture
    }

    func problems(_ fixture: Fixture) throws -> [AuditVerification.Problem] {
        try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)]).verifyAuditLog().problems
    }

    /// Doctor reports the audit problem, and nothing else is wrong with the vault.
    func expectOnlyTheAuditLogIsReported(_ fixture: Fixture, subject: String?, _ location: SourceLocation = #_sourceLocation) throws {
        let checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(!checkup.isHealthy, sourceLocation: location)
        let bad = checkup.findings.filter { $0.severity != .ok }
        #expect(!bad.isEmpty && bad.allSatisfy { $0.check == "audit" }, "\(bad.map(\.message))", sourceLocation: location)
        if let subject { #expect(bad.contains { $0.subject == subject }, "\(bad.map { $0.subject ?? "-" })", sourceLocation: location) }
        #expect(checkup.findings.contains { $0.check == "secrets" && $0.severity == .ok }, sourceLocation: location)
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        #expect(try vault.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret", sourceLocation: location)
    }

    @Test func everyChangeIsRecordedWithWhoWhereAndWhatButNeverASecret() throws {
        let fixture = try recorded()
        let events = try fixture.vault.events()
        #expect(events.map(\.knownAction) == [.realmAdded, .clientAdded, .clientAdded, .realmUpdated, .clientRemoved, .keyslotAdded, .keyslotRemoved])
        #expect(events.map(\.seq) == Array(1...7))
        #expect(events.allSatisfy { $0.outcome == "ok" && !$0.user.isEmpty && !$0.host.isEmpty && $0.command == AuditContext.recordedCommand })
        #expect(events.map { $0.clientRef?.description ?? $0.realm?.rawValue ?? "-" }
            == ["prod", "prod/orders", "prod/billing", "prod", "prod/billing", "-", "-"])
        #expect(events[0].detail == "token URL \(Fixture.tokenURL)")
        #expect(events[1].detail == "client_id orders-svc, client_secret_basic, secret version 1")
        #expect(events[3].detail == "changed insecure http allowed")
        #expect(events[5].detail.hasPrefix("keyslot 2, key-file, label ci"))
        let now = Date()
        #expect(events.allSatisfy { abs($0.time.timeIntervalSince(now)) < 60 })
        let rows = try RawVault.execute(fixture.path, "SELECT quote(events.rowid) || ' ' || os_user || command || action || coalesce(realm, '') || coalesce(client, '') || detail FROM events")
        #expect(rows.count == 7 && !rows.joined().contains("fake-"))
        #expect(try fixture.vault.verifyAuditLog().isIntact)
    }

    @Test func filtersSelectByClientRealmTimeAndCount() throws {
        let clock = TestClock()
        let directory = TemporaryDirectory()
        let key = try KeyFile.create(at: directory.file("key"))
        let vault = try Vault.create(at: directory.file("vault.db"), firstKeyslot: .keyFile(key), clock: { clock.now() })
        try vault.addRealm(Name("prod"), RealmSettings(tokenURL: Fixture.tokenURL))
        clock.advance(by: 3600)
        try vault.addRealm(Name("test"), RealmSettings(tokenURL: Fixture.tokenURL))
        try vault.addClient(ClientRef("prod/orders"), ClientSettings(clientID: "o"), secret: ClientSecret("fake-o"))
        try vault.addClient(ClientRef("test/orders"), ClientSettings(clientID: "o"), secret: ClientSecret("fake-o"))
        try vault.removeClient(ClientRef("prod/orders"))
        #expect(try vault.events(client: ClientRef("prod/orders")).map(\.seq) == [3, 5], "removed clients keep their history")
        #expect(try vault.events(realm: Name("test")).map(\.seq) == [2, 4])
        #expect(try vault.events(since: clock.now()).map(\.seq) == [2, 3, 4, 5])
        #expect(try vault.events(since: clock.now().addingTimeInterval(-3600)).count == 5)
        #expect(try vault.events(limit: 2).map(\.seq) == [4, 5], "the newest, oldest first")
        #expect(try vault.events(realm: Name("prod"), limit: 1).map(\.seq) == [5])
        #expect(try vault.events().first?.time == Date(timeIntervalSince1970: 1_800_000_000))
    }

    @Test func anEventCommitsAndRollsBackWithTheChangeItRecords() throws {
        let fixture = try Fixture()
        try fixture.populate()
        struct Abort: Error {}
        #expect(throws: Abort.self) {
            try fixture.vault.database.writeTransaction {
                try fixture.vault.record(.imported, realm: Name("prod"), detail: "inside")
                throw Abort()
            }
        }
        #expect(try fixture.vault.events().count == 3)
        // A failing change records nothing: the event was in its transaction.
        #expect(throws: VaultError.self) { try fixture.vault.addRealm(Name("prod"), RealmSettings(tokenURL: Fixture.tokenURL)) }
        #expect(try fixture.vault.events().count == 3)
        // A failure inside a nested part undoes only that part.
        try fixture.vault.database.writeTransaction {
            try fixture.vault.record(.imported, detail: "outer")
            _ = try? fixture.vault.database.writeTransaction {
                try fixture.vault.record(.imported, detail: "inner")
                throw Abort()
            }
        }
        #expect(try fixture.vault.events().map(\.detail).suffix(1) == ["outer"])
        #expect(try fixture.vault.verifyAuditLog().isIntact)
    }

    @Test func theLogIsAppendOnlyInSQL() throws {
        let fixture = try recorded()
        for sql in ["UPDATE events SET detail = 'x' WHERE seq = 1", "DELETE FROM events WHERE seq = 7", "DELETE FROM audit_head"] {
            #expect(throws: RawVault.Failure.self, "\(sql)") { try RawVault.execute(fixture.path, sql) }
        }
        #expect(try problems(fixture).isEmpty)
    }

    @Test func anEditedEventIsNamedBySeqTimeAndAction() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "UPDATE events SET detail = 'nothing to see' WHERE seq = 4")
        let found = try problems(fixture)
        #expect(found.map(\.kind) == [.altered] && found.first?.events == 4...4)
        let time = try fixture.vault.events()[3].time.iso8601
        #expect(found.first?.message.contains("audit event 4 (\(time), realm.updated prod) was altered") == true, "\(found)")
        try expectOnlyTheAuditLogIsReported(fixture, subject: "event 4")
    }

    @Test(arguments: [
        "UPDATE events SET time = time + 1 WHERE seq = 2",
        "UPDATE events SET os_user = 'someone-else' WHERE seq = 2",
        "UPDATE events SET outcome = 'failed' WHERE seq = 2",
        "UPDATE events SET client = NULL WHERE seq = 2",
        "UPDATE events SET mac = randomblob(32) WHERE seq = 2",
    ])
    func everyFieldIsCovered(sql: String) throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, sql)
        #expect(try problems(fixture).contains { $0.events == 2...2 && $0.kind == .altered })
    }

    @Test func aDeletedEventIsReportedAsMissing() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events WHERE seq IN (3, 4)")
        let found = try problems(fixture)
        #expect(found.map(\.kind) == [.missing] && found.first?.events == 3...4, "\(found)")
        try expectOnlyTheAuditLogIsReported(fixture, subject: "events 3-4")
    }

    @Test func aDeletedFirstEventIsReportedAsMissing() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events WHERE seq = 1")
        #expect(try problems(fixture).map(\.kind) == [.missing])
    }

    @Test func aTruncatedTailIsCaughtByTheHead() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events WHERE seq >= 6")
        let found = try problems(fixture)
        #expect(found.map(\.kind) == [.truncated] && found.first?.events == 6...7, "\(found)")
        try expectOnlyTheAuditLogIsReported(fixture, subject: "events 6-7")
        // Rewriting the head to match the shorter log needs the key.
        try RawVault.execute(fixture.path, "UPDATE audit_head SET count = 5, last_mac = (SELECT mac FROM events WHERE seq = 5)")
        #expect(try problems(fixture).map(\.kind) == [.headAltered])
        // So does deleting the head.
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM audit_head")
        #expect(try problems(fixture).map(\.kind) == [.headMissing])
    }

    @Test func reorderedEventsAreDetected() throws {
        let fixture = try recorded()
        // Swap events 2 and 3 wholesale, MACs included: each MAC covers its seq and predecessor.
        try RawVault.tamperWithAuditLog(fixture.path, """
            UPDATE events SET seq = 1000 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 1000;
            """)
        let found = try problems(fixture)
        // The event after them is chained to what was at 3 before, so it breaks too.
        #expect(found.map(\.kind) == [.altered, .altered, .altered] && found.map(\.events) == [2...2, 3...3, 4...4], "\(found)")
        try expectOnlyTheAuditLogIsReported(fixture, subject: "event 2")
    }

    @Test func aForgedEventIsDetected() throws {
        let fixture = try recorded()
        try RawVault.execute(fixture.path, """
            INSERT INTO events SELECT 8, time, os_user, host, command, 'realm.removed', 'prod', NULL, 'ok', '', mac FROM events WHERE seq = 7
            """)
        let found = try problems(fixture)
        #expect(found.map(\.kind) == [.altered, .headMismatch], "\(found)")
    }

    @Test func appendingAfterATruncationKeepsTheGapVisible() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events WHERE seq = 7")
        try fixture.vault.addRealm(Name("later"), RealmSettings(tokenURL: Fixture.tokenURL))
        #expect(try fixture.vault.events().last?.seq == 8)
        #expect(try problems(fixture).map(\.kind) == [.missing])
    }

    @Test func rekeyReMACsTheChainUnderTheNewKey() throws {
        let fixture = try recorded()
        let before = try RawVault.execute(fixture.path, "SELECT hex(mac) FROM events ORDER BY seq")
        let (rekeyed, report) = try fixture.vault.rekey()
        #expect(report.reauthenticatedEvents == 7 && report.auditProblemsAccepted.isEmpty)
        let after = try RawVault.execute(fixture.path, "SELECT hex(mac) FROM events ORDER BY seq")
        #expect(after.count == 8 && Set(after).isDisjoint(with: before))
        let last = try #require(try rekeyed.events().last)
        #expect(last.knownAction == .rekeyed && last.detail.hasPrefix("1 sealed value(s) re-sealed, 7 audit event(s) re-MAC'd"))
        #expect(try rekeyed.verifyAuditLog().isIntact)
        // The old key's MACs no longer verify anything: the log is bound to the new key alone.
        #expect(!(try fixture.vault.verifyAuditLog().isIntact))
        let checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(checkup.isHealthy, "\(checkup.findings.filter { $0.severity != .ok }.map(\.message))")
    }

    @Test func rekeyRefusesALogThatDoesNotVerifyUnlessAccepted() throws {
        let fixture = try recorded()
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events WHERE seq = 3")
        let before = try fixture.contents()
        #expect {
            try fixture.vault.rekey()
        } throws: { error in
            let error = error as? VaultError
            return error?.code == .corrupted && error!.message.contains("audit event 3 was deleted")
                && error!.next.contains(.runCheckup) && error!.next.contains { if case .force = $0 { true } else { false } }
        }
        #expect(try fixture.contents() == before, "a refused rekey changes nothing")
        let (rekeyed, report) = try fixture.vault.rekey(acceptingBrokenAuditLog: true)
        #expect(report.auditProblemsAccepted.map(\.kind) == [.missing])
        #expect(try rekeyed.verifyAuditLog().isIntact, "re-MAC'd as found")
        #expect(try rekeyed.events().last?.detail.contains("did not verify before this rekey and was re-MAC'd as found: 1 problem(s), the first missing at event 3") == true)
    }

    @Test func aVaultFromBeforeTheAuditLogStartsItOnItsFirstChange() throws {
        let fixture = try Fixture()
        try fixture.populate()
        // As a vault upgraded from schema 3 looks: tables present, no events, no head.
        try RawVault.tamperWithAuditLog(fixture.path, "DELETE FROM events; DELETE FROM audit_head")
        var checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(checkup.isHealthy && checkup.findings.contains { $0.check == "audit" && $0.severity == .warning })
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        try vault.removeClient(ClientRef("prod/billing"))
        #expect(try vault.events().map(\.seq) == [1])
        checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(checkup.isHealthy && checkup.findings.contains { $0.check == "audit" && $0.severity == .ok })
    }

    @Test func aNewVaultStartsWithASealedEmptyHead() throws {
        let fixture = try Fixture()
        #expect(try RawVault.execute(fixture.path, "SELECT count FROM audit_head") == ["0"])
        #expect(try fixture.vault.verifyAuditLog().hasHead)
    }

    @Test func longTextIsClippedAndControlCharactersRemoved() {
        #expect(AuditContext.clipped("a\nb\u{1b}[31m", to: 100) == "a b [31m")
        let long = String(repeating: "é", count: 600)
        let clipped = AuditContext.clipped(long, to: 512)
        #expect(clipped.utf8.count <= 512 && clipped.hasSuffix("…") && clipped.hasPrefix("éé"))
        #expect(AuditContext.commandLine(["cloak", "realm", "add", "a b", "it's", ""]) == #"cloak realm add 'a b' 'it'\''s' ''"#)
    }

    /// Clipping reads only a prefix of a long text: it must still give what clipping the whole
    /// text would, where control characters (C1 ones take two bytes), clusters ("\r\n", flags)
    /// and multi-byte characters meet the cut.
    @Test(arguments: [
        String(repeating: "\u{85}", count: 3000),
        String(repeating: "\u{85}a", count: 700) + "tail",
        String(repeating: "x\r\n", count: 400),
        String(repeating: "🇸🇪", count: 300),
        String(repeating: "é", count: 511) + "\u{1b}" + String(repeating: "z", count: 5000),
        String(repeating: "\u{9f}", count: 1025),
        String(repeating: "a", count: 1024),
        String(repeating: "a", count: 1023) + "\n",
        String(repeating: "a", count: 1025),
    ])
    func clippingAPrefixGivesWhatClippingTheWholeTextGives(_ text: String) {
        #expect(AuditContext.clipped(text, to: 1024) == Self.clippedWhole(text, to: 1024))
        #expect(AuditContext.clipped(text, to: 7) == Self.clippedWhole(text, to: 7))
    }

    /// The definition: every control character a space, then cut on a character boundary.
    static func clippedWhole(_ text: String, to limit: Int) -> String {
        let mapped = String(String.UnicodeScalarView(text.unicodeScalars.map { $0.isControlCharacter ? " " : $0 }))
        guard mapped.utf8.count > limit else { return mapped }
        var kept = ""
        var bytes = "…".utf8.count
        for character in mapped {
            bytes += character.utf8.count
            if bytes > limit { break }
            kept.append(character)
        }
        return kept + "…"
    }
}
