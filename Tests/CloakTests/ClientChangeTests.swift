import Foundation
import CloakroomTestSupport
import Testing

/// Issue 13, items 10 and 11, through the real binary against a real cloak-idp: a client is
/// checked with the IdP before it is stored or changed, and changed in place afterwards.
@Suite(.serialized) struct ClientChangeTests {
    static func secretVersion(_ sandbox: Sandbox, _ ref: String) throws -> Int? {
        try RotationTests.secretVersion(sandbox, ref)
    }

    /// Item 11: `client add` asks the IdP for a token before it stores anything. A wrong secret
    /// or client_id, or an IdP that cannot be asked, stores nothing and says how to store it
    /// unchecked; a right one is stored, and its token is the first `cloak token` serves.
    @Test func clientAddChecksTheSecretFirstAndCachesItsToken() async throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--token-url", idp.tokenURL)
        try sandbox.ok("realm", "add", "down", "--token-url", "http://127.0.0.1:1/token")
        let empty = try sandbox.contents

        for (clientID, secret) in [("broker-svc", "fake-wrong-secret-0000"), ("no-such-svc", IdP.basicSecret)] {
            let refused = try sandbox.run(["client", "add", "r1/basic", "--client-id", clientID, "--secret-stdin"], stdin: secret)
            #expect(refused.status == 11 && refused.stderr.contains("rejected client r1/basic") && refused.stderr.contains("nothing was stored"), "\(refused)")
            #expect(refused.stderr.contains("--no-verify") && !refused.stderr.contains("client show") && !refused.stderr.contains("fake-"), "\(refused)")
        }
        let unreachable = try sandbox.run(["client", "add", "down/app", "--client-id", "app", "--secret-stdin"], stdin: "fake-down-0000",
                                          environment: ["CLOAK_DEADLINE": "1"])
        #expect(unreachable.status == 12 && unreachable.stderr.contains("nothing was stored") && unreachable.stderr.contains("--no-verify"), "\(unreachable)")
        #expect(try sandbox.contents == empty, "a refused add wrote something")
        #expect(try await idp.tokenRequests() == 2)

        let offline = try sandbox.run(["client", "add", "down/app", "--client-id", "app", "--secret-stdin", "--no-verify"], stdin: "fake-down-0000")
        #expect(offline.status == 0 && offline.stderr.contains("not verified"), "\(offline)")

        let added = try sandbox.run(["client", "add", "r1/basic", "--client-id", "broker-svc", "--secret-stdin"], stdin: IdP.basicSecret)
        #expect(added.status == 0 && added.stderr.contains("verified: the identity provider issued a token"), "\(added)")
        #expect(try await idp.tokenRequests() == 3)
        let (first, json) = try sandbox.tokenJSON("r1/basic")
        #expect(first.status == 0 && json["source"] as? String == "cache", "the token add got is served first: \(first)")
        #expect(try await idp.tokenRequests() == 3)
        let log = try sandbox.ok("log", "--client", "r1/basic").stdout
        #expect(log.contains("client.added") && log.contains("verified with a token request") && log.contains("token.fetched"), "\(log)")
    }

    /// Item 10: `client update` changes a client in place. Each change to what a token request
    /// sends is checked with the IdP first (a refusal changes nothing), a new secret is a new
    /// version with the old kept as previous, and a rename keeps the row's secrets and tokens.
    @Test func aClientIsChangedInPlaceAndEachChangeIsCheckedFirst() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--token-url", idp.baseURL + "/realms/r1/protocol/openid-connect/token")
        try sandbox.ok("client", "add", "r1/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: RotationTests.ordersSecret)
        try sandbox.ok("client", "add", "r1/billing", "--client-id", "billing-svc", "--secret-stdin", stdin: RotationTests.billingSecret)
        func update(_ arguments: [String], stdin: String? = nil) throws -> Outcome {
            let outcome = try sandbox.run(["client", "update"] + arguments, stdin: stdin)
            RotationTests.expectNoSecrets(outcome)
            return outcome
        }

        // The secret was regenerated in the IdP's console: the token fails, and says what fixes it.
        let regenerated = try await RealmSyncTests.regenerate(idp, "orders-svc")
        let refused = try sandbox.run(["token", "r1/orders", "--refresh"])
        #expect(refused.status == 11 && refused.stderr.contains("cloak client update r1/orders") && refused.stderr.contains("--secret-stdin"), "\(refused)")

        let before = try sandbox.contents
        let wrong = try update(["r1/orders", "--secret-stdin"], stdin: "fake-not-the-new-one")
        #expect(wrong.status == 11 && wrong.stderr.contains("nothing was changed"), "\(wrong)")
        #expect(try sandbox.contents == before)

        let replaced = try update(["r1/orders", "--secret-stdin"], stdin: regenerated + "\n")
        #expect(replaced.status == 0 && replaced.stderr.contains("secret version 2 current, version 1 kept as previous"), "\(replaced)")
        #expect(!replaced.stderr.contains(regenerated))
        #expect(try sandbox.tokenJSON("r1/orders").1["source"] as? String == "cache")
        let plan = try sandbox.ok("rotate", "r1/orders", "--rollback", "--dry-run").stdout
        #expect(plan.contains("roll back to version 1"), "the old secret is kept as previous: \(plan)")

        // A wrong client_id for this secret is refused; with the other client's secret it is that client.
        let otherID = try update(["r1/orders", "--client-id", "billing-svc"])
        #expect(otherID.status == 11 && otherID.stderr.contains("nothing was changed"), "\(otherID)")
        let moved = try update(["r1/orders", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin"], stdin: RotationTests.billingSecret)
        #expect(moved.status == 0 && moved.stderr.contains("client_id orders-svc → billing-svc") && moved.stderr.contains("version 2 retired"), "\(moved)")
        #expect(try Self.secretVersion(sandbox, "r1/orders") == 3)
        let back = try update(["r1/orders", "--client-id", "orders-svc", "--auth", "basic", "--secret-stdin"], stdin: regenerated)
        #expect(back.status == 0, "\(back)")

        // Scopes and audience are replaced and cleared; each is checked, each is one audit event.
        let scoped = try update(["r1/orders", "--scope", "profile", "--scope", "email", "--audience", "orders-api"])
        #expect(scoped.status == 0 && scoped.stderr.contains("scopes none → profile email; audience none → orders-api"), "\(scoped)")
        let show = try sandbox.ok("client", "show", "r1/orders", "--json").stdout
        #expect(show.contains("orders-api") && show.contains("profile"), "\(show)")
        let cleared = try update(["r1/orders", "--no-scope", "--no-audience"])
        #expect(cleared.status == 0 && cleared.stderr.contains("audience orders-api → none"), "\(cleared)")

        // A new name keeps the secret, its cached token and its history; a taken one is refused.
        let taken = try update(["r1/orders", "--rename", "billing"])
        #expect(taken.status == 4 && taken.stderr.contains("exists already"), "\(taken)")
        let requests = try await idp.tokenRequests()
        let renamed = try update(["r1/orders", "--rename", "orders-api"])
        #expect(renamed.status == 0 && renamed.stderr.contains("updated r1/orders-api: renamed from r1/orders"), "\(renamed)")
        #expect(try sandbox.run(["client", "show", "r1/orders"]).status == 3)
        #expect(try sandbox.tokenJSON("r1/orders-api").1["source"] as? String == "cache")
        #expect(try await idp.tokenRequests() == requests, "a rename asks the IdP nothing")
        let log = try sandbox.ok("log", "--client", "r1/orders-api").stdout
        #expect(log.contains("renamed from r1/orders"), "\(log)")

        // Unchecked on request; and what cannot be meant is a usage error.
        let unchecked = try update(["r1/orders-api", "--client-id", "nobody-svc", "--no-verify"])
        #expect(unchecked.status == 0 && !unchecked.stderr.contains("verified"), "\(unchecked)")
        #expect(try await idp.tokenRequests() == requests)
        #expect(try update(["r1/orders-api", "--scope", "a", "--no-scope"]).status == 2)
        #expect(try update(["r1/orders-api"]).status == 2)

        #expect(try sandbox.run(["log", "--verify"]).status == 0)
        #expect(try sandbox.run(["doctor"]).status == 0)
    }

    /// Bad input to `client update` is a usage error naming what is wrong, before the IdP is
    /// asked or anything is written.
    @Test func badChangesAreRefusedBeforeAnythingIsAskedOrWritten() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let before = try sandbox.contents
        let requests = try await idp.tokenRequests()
        for (arguments, words) in [
            (["--rename", "Not A Name"], "client name"),
            (["--client-id", ""], "client_id"),
            (["--scope", #"a"b"#], "scope"),
            (["--audience", "x\u{1B}y"], "audience"),
            (["--rotate-every", "10s"], "--rotate-every"),
        ] {
            let outcome = try sandbox.run(["client", "update", "r1/basic"] + arguments)
            #expect(outcome.status == 2 && outcome.stderr.contains(words), "\(arguments): \(outcome)")
        }
        #expect(try sandbox.contents == before)
        #expect(try await idp.tokenRequests() == requests, "nothing was asked of the IdP")
    }

    /// Item 10 on a terminal: `--secret-stdin` prompts without echo rather than reading a secret
    /// typed up to Ctrl-D with echo.
    @Test func aNewSecretIsPromptedWithoutEchoOnATerminal() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let (screen, status) = try TerminalTests().onTerminal(sandbox, ["client", "update", "r1/basic", "--secret-stdin", "--no-verify"],
                                                             answers: [("Client secret for r1/basic: ", "fake-typed-secret-0000")])
        #expect(status == 0 && screen.contains("secret version 2 current"), "\(screen)")
        #expect(!screen.contains("fake-typed-secret-0000"), "the secret was echoed: \(screen)")
    }
}
