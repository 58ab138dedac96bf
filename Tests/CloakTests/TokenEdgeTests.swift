import Foundation
import CloakroomTestSupport
import Testing

/// `cloak token` at the edges: an IdP that is down when a refresh is asked for, tokens that
/// are dead on arrival, and a vault too busy to record what was fetched.
@Suite(.serialized) struct TokenEdgeTests {
    // MARK: --refresh (issue 9, item 9)

    /// `--refresh` asks for a new token: the cached one is not an answer to that.
    @Test func refreshWithTheIdPDownFailsInsteadOfServingTheCachedToken() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("token", "r1/basic")
        try await idp.fault(#"{"fault":"status","status":503,"route":"token"}"#)
        let outcome = try sandbox.run(["token", "r1/basic", "--refresh"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 12 && outcome.stdout.isEmpty, "\(outcome)")
        #expect(outcome.stderr.contains("HTTP 503"), "\(outcome)")
    }

    /// The plain path still serves a still-valid cached token, and says so on stderr.
    @Test func servingACachedTokenBecauseTheIdPIsDownWarns() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let (_, first) = try sandbox.tokenJSON("r1/basic")
        try await idp.fault(#"{"fault":"status","status":503,"route":"token"}"#)
        // No 300 s token has 300 s left: only a refresh could satisfy that, and it fails.
        let (outcome, json) = try sandbox.tokenJSON("r1/basic", ["--min-ttl", "300"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 0 && json["access_token"] as? String == first["access_token"] as? String, "\(outcome)")
        #expect(outcome.stderr.hasPrefix("warning:") && outcome.stderr.contains("cached token") && outcome.stderr.contains("HTTP 503"), "\(outcome)")
    }

    // MARK: Tokens dead on arrival (item 10)

    /// `expires_in: 0.0001`, or a JWT whose `exp` is already past (the IdP's clock an hour behind
    /// ours): the token is handed out once, with a warning naming the clock skew, and not cached.
    @Test(arguments: ["expires-in", "clock"])
    func tokenThatExpiresOnArrivalIsReturnedOnceUncachedWithAWarning(how: String) async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        if how == "clock" {
            try await idp.control("POST", "clock", #"{"offset_seconds":-3600}"#)
        } else {
            try await idp.fault(#"{"fault":"expires-in","seconds":0.0001,"route":"token"}"#)
        }
        let (outcome, json) = try sandbox.tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect((json["access_token"] as? String)?.isEmpty == false)
        #expect(outcome.stderr.contains("warning:") && outcome.stderr.contains("clock"), "\(outcome)")
        #expect(!outcome.stderr.contains("CHECK constraint"), "\(outcome)")
        #expect(try sandbox.ok("cache", "list", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
        let again = try sandbox.run(["token", "r1/basic"])
        #expect(again.status == 0, "\(again)")
        #expect(try await idp.tokenRequests() == 2, "nothing was cached, so the second call asked again")
        let fetched = try RawVault.execute(sandbox.vault, "SELECT count(*) FROM events WHERE action = 'token.fetched' AND outcome = 'ok'")
        #expect(fetched == ["2"], "each fetched token is recorded")
    }

    // MARK: A busy vault after the IdP answered (item 12)

    /// 30 processes on a token that is never fresh (1 s lifespan, 30 s minimum TTL), with a
    /// 10 ms busy timeout, while another process holds the vault's write lock for a while:
    /// every one that made a request gets its token, and each request the IdP answered is one
    /// `token.fetched` event.
    @Test func everyTokenFetchedUnderLockContentionIsReturnedAndRecorded() async throws {
        let idp = try IdP(lifespan: 1)
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":50,"route":"token"}"#)
        let vault = sandbox.vault
        let holder = Task { try await offPool { try RawVault.holdingWriteLock(vault) { Thread.sleep(forTimeInterval: 1.5) } } }
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for _ in 0..<30 {
                group.addTask { try await offPool { try sandbox.run(["token", "r1/basic", "--format", "json"], environment: ["CLOAK_BUSY_TIMEOUT": "0.01"]) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        try await holder.value
        let fromIdP = outcomes.filter { outcome in
            let json = try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
            return outcome.status == 0 && json?["source"] as? String == "idp"
        }
        let failed = outcomes.filter { $0.status != 0 }
        let requests = try await idp.tokenRequests()
        let fetched = try RawVault.execute(sandbox.vault, "SELECT count(*) FROM events WHERE action = 'token.fetched' AND outcome = 'ok'")
        #expect(failed.isEmpty, "\(failed.count) failed: \(failed.prefix(3))")
        #expect(fromIdP.count == requests, "\(requests) requests, \(fromIdP.count) tokens from the IdP")
        #expect(fetched == [String(requests)], "\(requests) requests, events: \(fetched)")
    }
}
