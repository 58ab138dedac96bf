import Foundation
import CloakroomTestSupport
import Testing


/// `cloak agent` serving tokens: a real agent process, a real cloak-idp, curl on the socket.
@Suite(.serialized) struct AgentTests {
    @Test func servesTokensClientsAndHealthOnTheSocket() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)

        let first = try agent.curl("/v1/tokens/r1/basic")
        #expect(first.status == 200, "\(first.body)")
        #expect(first.json["source"] as? String == "idp")
        #expect((first.json["access_token"] as? String)?.isEmpty == false)
        #expect(first.json["token_type"] as? String == "Bearer")
        #expect((first.json["expires_in"] as? Int ?? 0) > 200)
        let second = try agent.curl("/v1/tokens/r1/basic")
        #expect(second.json["source"] as? String == "memory")
        #expect(second.json["access_token"] as? String == first.json["access_token"] as? String)
        #expect(try await idp.tokenRequests() == 1)

        let unknown = try agent.curl("/v1/tokens/r1/nope")
        #expect(unknown.status == 404 && unknown.json["code"] as? String == "not_found" && unknown.json["client"] as? String == "nope", "\(unknown.body)")
        let malformed = try agent.curl("/v1/tokens/r1/bad%20name")
        #expect(malformed.status == 400 && malformed.json["code"] as? String == "invalid_input", "\(malformed.body)")
        let badTTL = try agent.curl("/v1/tokens/r1/basic?min_ttl=soon")
        #expect(badTTL.status == 400, "\(badTTL.body)")
        #expect(try agent.curl("/v2/tokens/r1/basic").status == 404)
        #expect(try agent.curl("/v1/tokens/r1/basic", method: "DELETE").status == 405)

        let clients = try agent.curl("/v1/clients")
        #expect(clients.status == 200)
        #expect(Set(clients.list.compactMap { $0["name"] as? String }) == ["basic", "post"])
        #expect(!clients.body.contains(IdP.basicSecret) && !clients.body.contains("secret"))
        let health = try agent.curl("/v1/health")
        #expect(health.json["status"] as? String == "ok" && health.json["vault"] as? String == sandbox.vault)
        #expect(health.json["tokens_kept_fresh"] as? Int == 1)
        let realms = health.json["realms"] as? [[String: Any]]
        #expect(realms?.count == 1 && realms?.first?["realm"] as? String == "r1" && realms?.first?["idp"] as? String == "reachable", "\(health.body)")

        // The socket is this user's only; the log names no secret and no token.
        #expect(try sandbox.mode(of: agent.socket) == 0o600)
        #expect(agent.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: agent.socket), "the socket is removed on the way out")
        let token = try #require(first.json["access_token"] as? String)
        #expect(!agent.log.contains(token) && !agent.log.contains(IdP.basicSecret), "\(agent.log)")
    }

    /// 1,000 requests at once on an empty cache: one request reaches the IdP.
    @Test func aThousandConcurrentRequestsMakeOneIdPRequest() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        // The IdP answers slowly, so that every request arrives while the first fetch is out.
        try await idp.fault(#"{"fault":"latency","delay_ms":1000,"route":"token","count":1}"#)
        let config = sandbox.directory.file("urls")
        try String(repeating: "url = \"http://agent/v1/tokens/r1/post\"\noutput = \"/dev/null\"\n", count: 1000)
            .write(toFile: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "--parallel", "--parallel-immediate", "--parallel-max", "300", "--unix-socket", agent.socket,
                             "-w", "%{http_code}\n", "-K", config]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let statuses = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(statuses.count == 1000 && statuses.allSatisfy { $0 == "200" }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(try await idp.tokenRequests() == 1)
    }

    /// Every token asked for is renewed before it is due: a consumer asking every 100 ms through
    /// three lifetimes never waits for the IdP after its first request.
    @Test func tokensAreRenewedInTheBackground() async throws {
        let idp = try IdP(lifespan: 4)
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        var sources: [String] = []
        let end = Date().addingTimeInterval(12.5)
        var tokens = Set<String>()
        while Date() < end {
            let reply = try agent.curl("/v1/tokens/r1/basic?min_ttl=0.5")
            #expect(reply.status == 200, "\(reply.body)")
            sources.append(reply.json["source"] as? String ?? "?")
            tokens.insert(reply.json["access_token"] as? String ?? "")
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(sources.first == "idp")
        #expect(sources.dropFirst().allSatisfy { $0 == "memory" }, "\(Dictionary(grouping: sources, by: { $0 }).mapValues(\.count))")
        #expect(tokens.count >= 3, "renewed at least twice in 12.5 s of 4 s tokens")
        // One request per renewal: about 12.5 / (0.74 × 4) of them, and the first.
        let requests = try await idp.tokenRequests()
        #expect((3...6).contains(requests), "\(requests) token requests")
    }

    /// `cloak token` asks a running agent of its vault first: with no key file at all it gets a
    /// token. An agent of another vault is not asked.
    @Test func cloakTokenAsksTheAgentOfItsVault() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        let viaAgent = ["CLOAK_AGENT_SOCK": agent.socket, "CLOAK_KEY_FILE": ""]
        let (outcome, json) = try sandbox.tokenJSON("r1/basic", environment: viaAgent)
        #expect(outcome.status == 0, "\(outcome)")
        #expect(json["source"] as? String == "idp")
        let (_, again) = try sandbox.tokenJSON("r1/basic", environment: viaAgent)
        #expect(again["source"] as? String == "memory")
        #expect(try await idp.tokenRequests() == 1)
        // The agent's errors keep their exit statuses.
        let unknown = try sandbox.run(["token", "r1/nope"], environment: viaAgent)
        #expect(unknown.status == 3 && unknown.stderr.contains("no client 'r1/nope'"), "\(unknown)")

        // The same vault by another path (a symbolic link to its directory) is the agent's too.
        let link = sandbox.directory.file("vault-link")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: sandbox.directory.file("vault"))
        let (linked, linkedJSON) = try sandbox.tokenJSON("r1/basic", environment: viaAgent.merging(["CLOAK_VAULT": link + "/vault.db"]) { $1 })
        #expect(linked.status == 0 && linkedJSON["source"] as? String == "memory", "\(linked)")

        // Another vault's agent on the same socket path is not used: no key, no token.
        let other = try Sandbox.tokens(idp)
        let refused = try other.run(["token", "r1/basic"], environment: viaAgent)
        #expect(refused.status == 5, "cannot unlock, without asking the other vault's agent: \(refused)")

        // A client added while the agent runs is served at once.
        try sandbox.ok("client", "add", "--no-verify", "r1/late", "--client-id", "post-svc", "--auth", "post", "--secret-stdin", stdin: IdP.postSecret)
        let late = try agent.curl("/v1/tokens/r1/late")
        #expect(late.status == 200, "\(late.body)")
    }

    /// `--sink`: the file always holds a whole token (a reader in a loop never sees a part), and
    /// a renewed one as each is renewed; 0600; in the format asked for.
    @Test func sinksAlwaysHoldAWholeFreshToken() async throws {
        let idp = try IdP(lifespan: 3)
        let sandbox = try Sandbox.tokens(idp)
        let raw = sandbox.directory.file("sinks/basic.token"), json = sandbox.directory.file("sinks/post.json")
        try FileManager.default.createDirectory(atPath: sandbox.directory.file("sinks"), withIntermediateDirectories: true)
        let agent = try AgentProcess(sandbox, arguments: ["--sink", "r1/basic=\(raw)", "--sink", "r1/post=\(json):json"])
        try await waitFor { FileManager.default.fileExists(atPath: raw) && FileManager.default.fileExists(atPath: json) }
        #expect(try sandbox.mode(of: raw) == 0o600)
        var seen = Set<String>(), reads = 0
        let end = Date().addingTimeInterval(7)
        while Date() < end {
            let text = try String(contentsOfFile: raw, encoding: .utf8)
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            #expect(parts.count == 3 && parts.allSatisfy { !$0.isEmpty } && !text.hasSuffix("\n"), "a partial or malformed token: \(text.count) bytes")
            seen.insert(text)
            reads += 1
            usleep(2_000)
        }
        #expect(reads > 500 && seen.count >= 2, "\(reads) reads, \(seen.count) tokens")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: json))) as? [String: Any])
        #expect((document["access_token"] as? String)?.split(separator: ".").count == 3)
        #expect(agent.stop() == 0)
        #expect(FileManager.default.fileExists(atPath: raw), "the agent's own sinks stay when it stops")
    }

    /// `cloak exec --token-file NAME=CLIENT`: the command reads a file the agent keeps fresh while
    /// it runs, and which is removed after; `--env` names the app's own variables; the vault's
    /// settings are not passed on unless `--keep-env`.
    @Test func execGetsTokenFilesAndVariablesOfItsOwnNaming() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let out = sandbox.directory.file("out")
        let script = "cat \"$TOKEN_FILE\" > \(out).file; printf %s \"$POST_TOKEN\" > \(out).post; env > \(out).env"
        // No agent: --token-file says what it needs.
        let without = try sandbox.run(["exec", "--token-file", "TOKEN_FILE=r1/basic", "--", "/bin/sh", "-c", script],
                                      environment: ["CLOAK_AGENT_SOCK": sandbox.directory.file("none.sock")])
        #expect(without.status == 3 && without.stderr.contains("cloak agent"), "\(without)")

        let agent = try AgentProcess(sandbox)
        let run = try sandbox.run(["exec", "--token-file", "TOKEN_FILE=r1/basic", "--env", "POST_TOKEN=r1/post", "--", "/bin/sh", "-c", script],
                                  environment: ["CLOAK_AGENT_SOCK": agent.socket])
        #expect(run.status == 0, "\(run)")
        let fileToken = try String(contentsOfFile: out + ".file", encoding: .utf8)
        #expect(fileToken.split(separator: ".").count == 3)
        #expect(try String(contentsOfFile: out + ".post", encoding: .utf8).split(separator: ".").count == 3)
        let environment = try String(contentsOfFile: out + ".env", encoding: .utf8)
        #expect(!environment.contains("CLOAK_VAULT=") && !environment.contains("CLOAK_KEY_FILE="), "\(environment)")
        let sinkPath = try #require(environment.split(separator: "\n").first { $0.hasPrefix("TOKEN_FILE=") }.map { String($0.dropFirst(11)) })
        // The command has ended: the agent removes its file.
        try await waitFor { !FileManager.default.fileExists(atPath: sinkPath) && agent.log.contains("removed the sink \(sinkPath)") }

        let kept = try sandbox.run(["exec", "r1/basic", "--keep-env", "--", "/bin/sh", "-c", "env > \(out).kept"])
        let keptEnvironment = try String(contentsOfFile: out + ".kept", encoding: .utf8)
        #expect(kept.status == 0 && keptEnvironment.contains("CLOAK_VAULT="), "\(kept)")
    }

    /// What `cloak` changes while the agent runs is seen without a restart: a removed client is no
    /// longer served from memory.
    @Test func theAgentSeesWhatOtherProcessesChange() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        #expect(try agent.curl("/v1/tokens/r1/post").status == 200)
        #expect(try agent.curl("/v1/tokens/r1/post").json["source"] as? String == "memory")
        try sandbox.ok("client", "remove", "r1/post", "--yes")
        try await waitFor { agent.log.contains("changed by another process") }
        let gone = try agent.curl("/v1/tokens/r1/post")
        #expect(gone.status == 404, "\(gone.body)")
    }

    /// One IdP request per expiry between the agent and `cloak` processes reading the same vault:
    /// while the agent renews in the background, CLI processes asking all along find the vault's
    /// cache fresh and never ask the IdP themselves.
    @Test func theAgentAndCLIProcessesShareOneRequestPerExpiry() async throws {
        let idp = try IdP(lifespan: 4)
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        #expect(try agent.curl("/v1/tokens/r1/post?min_ttl=0.5").status == 200)
        var sources: [String: Int] = [:]
        let end = Date().addingTimeInterval(10)
        while Date() < end {
            // No agent socket for these: they read the vault, as a process of another user would.
            let (outcome, json) = try sandbox.tokenJSON("r1/post", ["--min-ttl", "0.5"], environment: ["CLOAK_AGENT_SOCK": sandbox.directory.file("none.sock")])
            #expect(outcome.status == 0, "\(outcome)")
            sources[json["source"] as? String ?? "?", default: 0] += 1
        }
        let renewals = try #require(try agent.curl("/v1/health").json["renewals"] as? Int)
        let requests = try await idp.tokenRequests()
        #expect(sources["idp"] == nil, "the CLI never went to the IdP: \(sources)")
        #expect(requests == renewals + 1 && renewals >= 2, "\(requests) requests, \(renewals) renewals")
    }

    /// A vault that only a passphrase opens: the agent is given it once (`--passphrase-fd`), and
    /// `cloak token` then needs neither the passphrase nor Argon2id's second.
    @Test func aPassphraseVaultIsUnlockedOnceByTheAgent() async throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        let phrase = sandbox.directory.file("phrase")
        try "fake correct horse battery staple\n".write(toFile: phrase, atomically: true, encoding: .utf8)
        let none = ["CLOAK_KEY_FILE": ""]
        func ok(_ command: String, stdin: String? = nil) throws {
            let outcome = try sandbox.run([], stdin: stdin, environment: none, viaShell: "exec \"$0\" \(command) --passphrase-fd 3 3<'\(phrase)'")
            #expect(outcome.status == 0, "\(command): \(outcome)")
        }
        try ok("init --passphrase --kdf interactive")
        try ok("realm add r1 --token-url '\(idp.tokenURL)'")
        try ok("client add r1/post --client-id post-svc --auth post --secret-stdin --no-verify", stdin: IdP.postSecret)
        let agent = try AgentProcess(sandbox, environment: none, redirections: "--passphrase-fd 3 3<'\(phrase)'")
        let viaAgent = ["CLOAK_KEY_FILE": "", "CLOAK_AGENT_SOCK": agent.socket]
        let (outcome, json) = try sandbox.tokenJSON("r1/post", environment: viaAgent)
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(try sandbox.tokenJSON("r1/post", environment: viaAgent).1["source"] as? String == "memory")
        // Without the agent, the same command has nothing to unlock the vault with.
        #expect(agent.stop() == 0)
        #expect(try sandbox.run(["token", "r1/post"], environment: viaAgent).status == 5)
    }
}
