import Foundation
import CloakroomTestSupport
import Testing

/// The real `cloak` on a team vault in PostgreSQL (the throwaway cluster `scripts/test.sh`
/// starts): sandboxes with their own HOME, directory and key file copy stand for hosts.
@Suite(.serialized, .enabled(if: Sandbox.teamVault() != nil)) struct TeamVaultTests {
    /// `count` sandboxes on one new team vault, the first made it (`init`, realm r1 at `idp`,
    /// clients r1/basic and r1/post); the others hold a copy of its key file.
    func hosts(_ count: Int, idp: IdP) throws -> [Sandbox] {
        let (url, passwords) = try #require(Sandbox.teamVault())
        let hosts = (0..<count).map { _ in Sandbox(vault: url) }
        for host in hosts { host.extraEnvironment = ["PGPASSFILE": passwords] }
        try hosts[0].ok("init")
        try hosts[0].ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL])
        try hosts[0].ok("client", "add", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        try hosts[0].ok("client", "add", "r1/post", "--client-id", "post-svc", "--auth", "post", "--secret-stdin", stdin: IdP.postSecret)
        for host in hosts.dropFirst() {
            try FileManager.default.copyItem(atPath: hosts[0].keyFile, toPath: host.keyFile)
        }
        return hosts
    }

    @Test func aTeamVaultServesTokensChecksOutAndNeverPrintsItsPassword() async throws {
        let idp = try IdP()
        let owner = try hosts(1, idp: idp)[0]
        let (first, firstJSON) = try owner.tokenJSON("r1/basic")
        #expect(first.status == 0 && firstJSON["source"] as? String == "idp", "\(first)")
        let (second, secondJSON) = try owner.tokenJSON("r1/basic")
        #expect(second.status == 0 && secondJSON["source"] as? String == "cache", "\(second)")
        #expect(try await idp.tokenRequests() == 1)
        let listed = try owner.ok("client", "list")
        #expect(listed.stdout.contains("r1/basic") && listed.stdout.contains("r1/post"))
        let doctor = try owner.run(["doctor"])
        #expect(doctor.status == 0 && doctor.stdout.contains("every migration as shipped"), "\(doctor)")
        #expect(try owner.run(["log", "--verify"]).status == 0)
        let all = [first, second, listed, doctor].map { $0.stdout + $0.stderr }.joined()
        #expect(!all.contains("fake-pg-"), "a database password was printed")
    }

    /// Three hosts with eight processes each ask at once for a token nobody has: the IdP sees
    /// one request, and everyone gets that token.
    @Test func threeHostsAskingAtOnceMakeOneRequest() async throws {
        let idp = try IdP()
        let hosts = try hosts(3, idp: idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":400,"route":"token"}"#)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for host in hosts {
                for _ in 0..<8 { group.addTask { try host.run(["token", "r1/basic"]) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes.filter { $0.status != 0 })")
        #expect(Set(outcomes.map(\.stdout)).count == 1, "everyone got the same token")
        #expect(try await idp.tokenRequests() == 1)
    }

    /// The process holding the single-flight lock is killed while its request is at the IdP:
    /// the server ends its session and releases the lock, and another host's process proceeds.
    @Test func aHostKilledWhileFetchingBlocksNobody() async throws {
        let idp = try IdP()
        let hosts = try hosts(2, idp: idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":8000,"route":"token","count":1}"#)
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: Sandbox.binary)
        victim.arguments = ["token", "r1/basic"]
        victim.environment = hosts[0].environment
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        for _ in 0..<500 where try await idp.arrivals("token") == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let (arrived, answered) = (try await idp.arrivals("token"), try await idp.tokenRequests())
        try #require(arrived == 1 && answered == 0, "the victim's request is not being held at the IdP")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let start = Date()
        let (outcome, json) = try hosts[1].tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(Date().timeIntervalSince(start) < 6, "waited for the dead process's request")
    }

    /// An agent on each of two hosts serves the team vault; a token refreshed on one host is
    /// what the other's agent serves next (it learnt of the change through NOTIFY and dropped
    /// what it held), and `cloak token` on a host asks that host's agent.
    @Test func agentsOnTwoHostsServeOneVaultAndLearnOfEachOthersChanges() async throws {
        let idp = try IdP()
        let hosts = try hosts(2, idp: idp)
        let agents = try hosts.map { try AgentProcess($0) }
        let first = try agents[0].curl("/v1/tokens/r1/basic")
        #expect(first.status == 200 && first.json["source"] as? String == "idp", "\(first.body)")
        let second = try agents[1].curl("/v1/tokens/r1/basic")
        #expect(second.json["source"] as? String == "cache" && second.json["access_token"] as? String == first.json["access_token"] as? String)
        #expect(try await idp.tokenRequests() == 1)

        let (refreshed, json) = try hosts[1].tokenJSON("r1/basic", ["--refresh"], environment: ["CLOAK_AGENT_SOCK": agents[1].socket])
        #expect(refreshed.status == 0, "\(refreshed)")
        let newToken = try #require(json["access_token"] as? String)
        #expect(newToken != first.json["access_token"] as? String)
        try await waitFor(seconds: 10) { (try? agents[0].curl("/v1/tokens/r1/basic").json["access_token"] as? String) == newToken }
        for agent in agents { #expect(agent.stop() == 0, "\(agent.log)") }
    }

    /// The owner's `init` prints the GRANTs; run as the owner (with psql), they let the runtime
    /// role use the vault, and nothing more: it cannot make a vault of its own.
    @Test func theGrantsInitPrintsAreWhatARuntimeRoleNeeds() throws {
        let (url, passwords) = try #require(Sandbox.teamVault())
        let owner = Sandbox(vault: url)
        owner.extraEnvironment = ["PGPASSFILE": passwords]
        let grants = try owner.ok("init").stdout
        #expect(grants.contains("GRANT USAGE ON SCHEMA cli_") && grants.contains("TO \"cloak_runtime\";"), "\(grants)")
        try owner.ok("realm", "add", "prod", "--token-url", Sandbox.tokenURL)
        try owner.ok("client", "add", "prod/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: Sandbox.ordersSecret)

        let runtimeURL = url.replacingOccurrences(of: "cloak_owner@", with: "cloak_runtime@")
        let runtime = Sandbox(vault: runtimeURL)
        runtime.extraEnvironment = ["PGPASSFILE": passwords]
        try FileManager.default.copyItem(atPath: owner.keyFile, toPath: runtime.keyFile)
        #expect(try runtime.run(["client", "list"]).status == 8, "the runtime role read the vault before any GRANT")

        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [String(url.prefix { $0 != "?" }), "-v", "ON_ERROR_STOP=1", "-qc", grants]
        psql.environment = ["PGPASSFILE": passwords, "PATH": "/usr/bin:/bin"]
        try psql.run()
        psql.waitUntilExit()
        try #require(psql.terminationStatus == 0)

        #expect(try runtime.ok("client", "list").stdout.contains("prod/orders"))
        try runtime.ok("client", "add", "prod/billing", "--client-id", "billing-svc", "--secret-stdin", stdin: Sandbox.billingSecret)
        let own = Sandbox(vault: runtimeURL.replacingOccurrences(of: "&schema=cli_", with: "&schema=mine_"))
        own.extraEnvironment = ["PGPASSFILE": passwords]
        let refused = try own.run(["init"])
        #expect(refused.status == 8 && refused.stderr.contains("refused this role"), "\(refused)")
    }

    @Test func aServerThatIsNotThereIsExit19AndAPasswordInTheURLIsRefused() throws {
        let sandbox = Sandbox(vault: "postgresql://cloak_owner@127.0.0.1:1/cloak?sslmode=disable")
        let refused = try sandbox.run(["client", "list"])
        #expect(refused.status == 19 && refused.stderr.contains("127.0.0.1:1") && refused.stderr.contains("connection refused"), "\(refused)")
        let withPassword = Sandbox(vault: "postgresql://cloak_owner:fake-pg-in-url@127.0.0.1:1/cloak")
        let outcome = try withPassword.run(["client", "list"])
        #expect(outcome.status == 2 && outcome.stderr.contains("password file") && !outcome.stderr.contains("fake-pg-in-url"), "\(outcome)")
    }
}
