import Foundation
import CloakroomTestSupport
import Testing

/// `cloak log`, and `cloak doctor` / `cloak rekey` on the audit log, through the real binary.
@Suite struct AuditLogTests {
    /// `cloak log --json ARGS`, parsed.
    func log(_ sandbox: Sandbox, _ arguments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        let outcome = try sandbox.run(["log", "--json"] + arguments)
        #expect(outcome.status == 0, "\(outcome)", sourceLocation: sourceLocation)
        return (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    @Test func changesAreLoggedWithTheCommandAsTypedAndNeverASecret() throws {
        let sandbox = try Sandbox.populated()
        try sandbox.ok("realm", "update", "prod", "--admin-client", "prod/orders")
        try sandbox.ok("realm", "update", "prod", "--no-admin-client")
        try sandbox.ok("client", "remove", "prod/billing", "--yes")
        try sandbox.ok("keyslot", "add", "--new-key-file", sandbox.directory.file("second key"), "--label", "ci")
        try sandbox.ok("keyslot", "remove", "2", "--yes")
        try sandbox.ok("rekey")
        let events = try log(sandbox)
        #expect(events.map { $0["action"] as? String } == [
            "realm.added", "client.added", "client.added", "realm.updated", "realm.updated", "client.removed",
            "keyslot.added", "keyslot.removed", "vault.rekeyed",
        ])
        #expect(events.map { $0["seq"] as? Int } == Array(1...9))
        #expect(events[0]["command"] as? String == "cloak realm add prod --token-url \(Sandbox.tokenURL)")
        #expect(events[6]["command"] as? String == "cloak keyslot add --new-key-file '\(sandbox.directory.file("second key"))' --label ci")
        #expect(events[1]["realm"] as? String == "prod" && events[1]["client"] as? String == "prod/orders")
        #expect(events[0]["client"] is NSNull && events[6]["realm"] is NSNull)
        #expect(events[3]["detail"] as? String == "changed admin client to prod/orders")
        #expect(events.allSatisfy { $0["outcome"] as? String == "ok" && ($0["time"] as? String)?.hasSuffix("Z") == true })
        var host = [CChar](repeating: 0, count: 256)
        gethostname(&host, 255)
        #expect(Set(events.compactMap { $0["host"] as? String }) == [String(cString: host)])
        #expect(Set(events.compactMap { $0["user"] as? String }) == [String(cString: getpwuid(geteuid())!.pointee.pw_name)])
        let keys = Set(events.flatMap { Array($0.keys) })
        #expect(keys == ["seq", "time", "user", "host", "command", "action", "realm", "client", "outcome", "detail"])

        // No secret anywhere in the log: not in its rows, not in what `cloak log` prints.
        let text = try sandbox.run(["log"]).stdout + (try sandbox.run(["log", "--json"]).stdout)
        let rows = try RawVault.execute(sandbox.vault, "SELECT os_user || host || command || action || coalesce(realm, '') || coalesce(client, '') || detail || hex(mac) FROM events")
        for secret in [Sandbox.ordersSecret, Sandbox.billingSecret, "fake-"] {
            #expect(!text.contains(secret) && !rows.joined().contains(secret))
        }
        let doctor = try sandbox.run(["doctor", "--json"])
        #expect(doctor.status == 0 && doctor.stdout.contains("the audit log's 9 event(s) verify"), "\(doctor)")
    }

    @Test func theTableShowsOneLinePerEvent() throws {
        let sandbox = try Sandbox.populated()
        let table = try sandbox.ok("log").stdout.split(separator: "\n")
        #expect(table.count == 4)
        #expect(table[0].hasPrefix("SEQ  TIME") && table[0].hasSuffix("DETAIL"))
        #expect(table[2].contains("client.added") && table[2].contains("prod/orders") && table[2].contains("ok"))
    }

    @Test func filters() throws {
        let sandbox = try Sandbox.populated()
        try sandbox.ok("realm", "add", "test", "--token-url", Sandbox.tokenURL)
        #expect(try log(sandbox, ["--client", "prod/orders"]).map { $0["seq"] as? Int } == [2])
        #expect(try log(sandbox, ["--realm", "prod"]).map { $0["seq"] as? Int } == [1, 2, 3])
        #expect(try log(sandbox, ["--limit", "2"]).map { $0["seq"] as? Int } == [3, 4])
        #expect(try log(sandbox, ["--since", "1h"]).count == 4)
        #expect(try log(sandbox, ["--since", "2099-01-01T00:00:00Z"]).isEmpty)
        #expect(try log(sandbox, ["--since", "2001-01-01"]).count == 4)
        #expect(try log(sandbox, ["--since", "2001-01-01T10:00:00+02:00"]).count == 4)
        for bad in [["--since", "yesterday"], ["--since", "2026-02-30"], ["--limit", "0"], ["--client", "nope"]] {
            let outcome = try sandbox.run(["log"] + bad)
            #expect(outcome.status == 2 && outcome.stdout.isEmpty, "\(bad): \(outcome)")
        }
    }

    @Test func readingNeedsNoKeyButVerifyingDoes() throws {
        let sandbox = try Sandbox.populated()
        #expect(try sandbox.run(["log"], environment: ["CLOAK_KEY_FILE": ""]).status == 0)
        let locked = try sandbox.run(["log", "--verify"], environment: ["CLOAK_KEY_FILE": ""])
        #expect(locked.status == 5 && locked.stdout.isEmpty, "\(locked)")
        let verified = try sandbox.run(["log", "--verify"])
        #expect(verified.status == 0 && verified.stderr.contains("the audit log verifies (3 event(s))"), "\(verified)")
    }

    /// What someone with the file does, and what `cloak doctor` then says (exit 10), while the
    /// rest of the vault stays usable.
    @Test(arguments: [
        ("UPDATE events SET detail = 'nothing happened' WHERE seq = 2", "audit event 2 (", "was altered"),
        ("DELETE FROM events WHERE seq = 2", "audit event 2 was deleted", "from the audit log"),
        ("DELETE FROM events WHERE seq >= 3", "audit events 3–4 were deleted from the end", "its head records 4"),
        ("UPDATE events SET seq = 1000 WHERE seq = 2; UPDATE events SET seq = 2 WHERE seq = 3; UPDATE events SET seq = 3 WHERE seq = 1000",
         "audit event 2 (", "was altered"),
    ])
    func doctorReportsATamperedLog(sql: String, first: String, second: String) throws {
        let sandbox = try Sandbox.populated()
        try sandbox.ok("realm", "add", "test", "--token-url", Sandbox.tokenURL)
        try RawVault.tamperWithAuditLog(sandbox.vault, sql)
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10, "\(doctor)")
        let auditLines = doctor.stdout.split(separator: "\n").filter { $0.contains(" audit ") }
        #expect(auditLines.contains { $0.hasPrefix("PROBLEM") && $0.contains(first) && $0.contains(second) }, "\(doctor)")
        #expect(!doctor.stdout.split(separator: "\n").contains { $0.hasPrefix("PROBLEM") && !$0.contains(" audit ") }, "only the log is reported")
        #expect(doctor.stdout.contains("all 2 sealed secret(s) open"))
        // The tampering is not hidden by reading, and stops --verify and rekey.
        let verify = try sandbox.run(["log", "--verify"])
        #expect(verify.status == 10 && verify.stdout.isEmpty && verify.stderr.contains(first), "\(verify)")
        let rekey = try sandbox.run(["rekey"])
        #expect(rekey.status == 6 && rekey.stderr.contains("cloak doctor") && rekey.stderr.contains("--force"), "\(rekey)")
        // Everything else works.
        try sandbox.ok("client", "show", "prod/orders")
        try sandbox.ok("client", "add", "--no-verify", "test/more", "--client-id", "more", "--secret-stdin", stdin: "fake-more")
        #expect(try sandbox.run(["doctor"]).status == 10, "a new event does not mend the chain")
    }

    @Test func rekeyWithForceRecordsThatTheLogWasBroken() throws {
        let sandbox = try Sandbox.populated()
        try RawVault.tamperWithAuditLog(sandbox.vault, "DELETE FROM events WHERE seq = 2")
        let rekey = try sandbox.run(["rekey", "--force"])
        #expect(rekey.status == 0 && rekey.stderr.contains("did not verify and was re-MAC'd as found"), "\(rekey)")
        let last = try #require(try log(sandbox).last)
        #expect(last["action"] as? String == "vault.rekeyed")
        #expect((last["detail"] as? String)?.contains("the first missing at event 2") == true)
        #expect(try sandbox.run(["doctor"]).status == 0)
    }

    @Test func twoProcessesAppendingKeepOneChain() async throws {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for index in 0..<8 {
                group.addTask { try sandbox.run(["realm", "add", "r\(index)", "--token-url", Sandbox.tokenURL]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes.filter { $0.status != 0 })")
        let events = try log(sandbox)
        #expect(events.map { $0["seq"] as? Int } == Array(1...8))
        #expect(Set(events.compactMap { $0["realm"] as? String }).count == 8)
        let verified = try sandbox.run(["log", "--verify"])
        #expect(verified.status == 0, "\(verified)")
    }
}

/// Token fetches in the log, against a real cloak-idp: one event per request to the IdP, none
/// for cache hits, a failed one for rejected credentials — which never changes the token error.
@Suite(.serialized) struct TokenAuditTests {
    func tokenEvents(_ sandbox: Sandbox) throws -> [[String: Any]] {
        let outcome = try sandbox.run(["log", "--json", "--client", "r1/basic"])
        let events = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [[String: Any]]) ?? []
        return events.filter { $0["action"] as? String == "token.fetched" }
    }

    @Test func oneEventPerRequestToTheIdPAndNoneForCacheHits() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let first = try sandbox.ok("token", "r1/basic").stdout.trimmingCharacters(in: .newlines)
        try sandbox.ok("token", "r1/basic")                              // the fast path
        try sandbox.ok("token", "r1/basic", "--format", "env")           // the full command, from the cache
        #expect(try tokenEvents(sandbox).count == 1)
        try sandbox.ok("token", "r1/basic", "--refresh")
        let events = try tokenEvents(sandbox)
        #expect(try await idp.tokenRequests() == 2 && events.count == 2)
        // The life is cut to the JWT's whole-second `exp` unless that falls after sent + 300 s (the
        // IdP's clock crossed a second while the request was on its way): 29x or 300.
        #expect(events.allSatisfy { $0["outcome"] as? String == "ok" && ($0["detail"] as? String).map {
            ($0.hasPrefix("secret version 1, valid 29") || $0.hasPrefix("secret version 1, valid 300 s")) && $0.hasSuffix(" s, scope profile email")
        } == true }, "\(events)")
        #expect(events.map { $0["command"] as? String } == ["cloak token r1/basic", "cloak token r1/basic --refresh"])
        let printed = try sandbox.ok("log").stdout + (try sandbox.ok("log", "--json").stdout)
        let rows = try RawVault.execute(sandbox.vault, "SELECT command || detail FROM events").joined()
        #expect(!printed.contains(first) && !rows.contains(first) && !printed.contains("fake-") && !rows.contains("fake-"))
        #expect(try sandbox.run(["doctor"]).status == 0)
    }

    @Test func rejectedCredentialsAreLoggedAsAFailedFetch() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("client", "add", "--no-verify", "r1/wrong", "--client-id", "broker-svc", "--secret-stdin", stdin: "fake-wrong-secret")
        let outcome = try sandbox.run(["token", "r1/wrong"])
        #expect(outcome.status == 11 && outcome.stdout.isEmpty, "\(outcome)")
        let events = try sandbox.ok("log", "--json", "--client", "r1/wrong").stdout
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(events.utf8)) as? [[String: Any]])
        let failed = try #require(parsed.last)
        #expect(failed["action"] as? String == "token.fetched" && failed["outcome"] as? String == "failed")
        #expect((failed["detail"] as? String)?.hasPrefix("rejected by the identity provider: HTTP 4") == true, "\(failed)")
        #expect(!events.contains("fake-"))
    }

    @Test func aVaultLockedByAnotherWriterDoesNotChangeTheTokenError() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("client", "add", "--no-verify", "r1/wrong", "--client-id", "broker-svc", "--secret-stdin", stdin: "fake-wrong-secret")
        let start = Date()
        let outcome = try RawVault.holdingWriteLock(sandbox.vault) { try sandbox.run(["token", "r1/wrong"]) }
        #expect(outcome.status == 11 && outcome.stderr.contains("rejected client r1/wrong"), "\(outcome)")
        #expect(Date().timeIntervalSince(start) < 5, "the best-effort event does not wait out the busy timeout")
        #expect(try tokenEvents(sandbox).isEmpty && (try sandbox.run(["doctor"]).status == 0))
    }

    @Test func concurrentRefreshesKeepOneChain() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for ref in ["r1/basic", "r1/post", "r1/basic", "r1/post"] {
                group.addTask { try sandbox.run(["token", ref, "--refresh"]) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes.filter { $0.status != 0 })")
        let all = try sandbox.ok("log", "--json").stdout
        let events = try #require(try JSONSerialization.jsonObject(with: Data(all.utf8)) as? [[String: Any]])
        #expect(events.map { $0["seq"] as? Int } == Array(1...events.count))
        #expect(events.filter { $0["action"] as? String == "token.fetched" }.count == (try await idp.tokenRequests()))
        let verified = try sandbox.run(["log", "--verify"])
        #expect(verified.status == 0, "\(verified)")
    }
}
