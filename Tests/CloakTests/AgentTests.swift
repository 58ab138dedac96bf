import Foundation
import CloakroomTestSupport
import Testing

/// A real `cloak agent` serving a sandbox's vault on a Unix socket; stopped by its PID.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let socket: String
    private let logFile: String

    /// Starts `cloak agent --socket SOCKET ARGUMENTS…` and waits until it answers.
    init(_ sandbox: Sandbox, socket: String? = nil, arguments: [String] = [], environment: [String: String] = [:]) throws {
        self.socket = socket ?? sandbox.directory.file("run/agent.sock")
        logFile = sandbox.directory.file("agent-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["agent", "--socket", self.socket] + arguments
        process.environment = sandbox.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logFile)
        try process.run()
        let end = Date().addingTimeInterval(20)
        while Date() < end, process.isRunning, !log.contains("serving") { usleep(20_000) }
        guard log.contains("serving") else {
            stop()
            throw RawVault.Failure(description: "cloak agent did not start:\n\(log)")
        }
    }

    deinit { stop() }

    /// What the agent wrote to stderr so far.
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits: the exit status (or the signal that ended it).
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    struct Reply {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        var list: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]]) ?? [] }
    }

    /// `curl --unix-socket` (as another user with `setpriv`, when `uid` is given).
    func curl(_ path: String, method: String = "GET", uid: UInt32? = nil) throws -> Reply {
        try Client(socket: socket).curl(path, method: method, uid: uid)
    }

    /// curl on a socket, whoever started what listens there.
    struct Client {
        let socket: String

        func curl(_ path: String, method: String = "GET", uid: UInt32? = nil) throws -> Reply {
        let process = Process()
        var arguments = ["-s", "-X", method, "--unix-socket", socket, "-w", "\n%{http_code}", "http://agent" + path]
        if let uid {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/usr/bin/curl"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let newline = text.lastIndex(of: "\n") ?? text.startIndex
        return Reply(status: Int(text[newline...].dropFirst()) ?? 0, body: String(text[..<newline]))
        }
    }
}

/// `cloak agent`: a real agent process, a real cloak-idp, curl on the socket.
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

    /// Another user reaches the socket only when a policy admits users beyond the owner, and
    /// then gets only what the policy gives it; SIGHUP re-reads the policy.
    @Test func thePolicyDecidesWhoGetsWhat() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        // Under /tmp, not the sandbox (0700): another user must be able to reach the socket.
        let directory = "/tmp/cloak-agent-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let nobody: UInt32 = 65534, other: UInt32 = 65533

        // The default: only this user. Another cannot even connect (0600 socket).
        do {
            let agent = try AgentProcess(sandbox, socket: directory + "/agent.sock")
            #expect(try agent.curl("/v1/tokens/r1/post", uid: nobody).status == 0, "no connection at all")
            #expect(try agent.curl("/v1/tokens/r1/post").status == 200)
            agent.stop()
        }

        let policy = sandbox.directory.file("policy.json")
        try #"{"rules": [{"users": [\#(getuid())], "allow": ["token", "clients", "health"]}, {"users": [\#(nobody)], "clients": ["r1/post"], "allow": ["token"]}]}"#
            .write(toFile: policy, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(sandbox, socket: directory + "/agent.sock", arguments: ["--policy", policy])
        #expect(try sandbox.mode(of: agent.socket) == 0o666)
        #expect(try agent.curl("/v1/tokens/r1/post", uid: nobody).status == 200)
        let refused = try agent.curl("/v1/tokens/r1/basic", uid: nobody)
        #expect(refused.status == 403 && refused.json["code"] as? String == "forbidden", "\(refused.body)")
        #expect(try agent.curl("/v1/clients", uid: nobody).status == 403)
        #expect(try agent.curl("/v1/tokens/r1/post", uid: other).status == 403)
        #expect(agent.log.contains("refused token for r1/basic to uid \(nobody)"), "\(agent.log)")

        // SIGHUP: nobody loses r1/post. A broken policy file leaves the one in force.
        try #"{"rules": [{"users": [\#(getuid())], "allow": ["token"]}, {"users": [\#(nobody)], "clients": ["r1/basic"], "allow": ["token"]}]}"#
            .write(toFile: policy, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await waitFor { agent.log.contains("re-read") }
        #expect(try agent.curl("/v1/tokens/r1/post", uid: nobody).status == 403)
        #expect(try agent.curl("/v1/tokens/r1/basic", uid: nobody).status == 200)
        try "{not json".write(toFile: policy, atomically: true, encoding: .utf8)
        agent.signal(SIGHUP)
        try await waitFor { agent.log.contains("policy in force is unchanged") }
        #expect(try agent.curl("/v1/tokens/r1/basic", uid: nobody).status == 200)
        let health = try agent.curl("/v1/health")
        #expect(health.status == 403, "the new policy gives this user tokens only")
        #expect(agent.stop() == 0)
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

        // Another vault's agent on the same socket path is not used: no key, no token.
        let other = try Sandbox.tokens(idp)
        let refused = try other.run(["token", "r1/basic"], environment: viaAgent)
        #expect(refused.status == 5, "cannot unlock, without asking the other vault's agent: \(refused)")

        // A client added while the agent runs is served at once.
        try sandbox.ok("client", "add", "r1/late", "--client-id", "post-svc", "--auth", "post", "--secret-stdin", stdin: IdP.postSecret)
        let late = try agent.curl("/v1/tokens/r1/late")
        #expect(late.status == 200, "\(late.body)")
    }

    /// SIGTERM while requests wait for a slow IdP: each accepted request is answered, then the
    /// agent exits 0 and removes its socket.
    @Test func sigtermAnswersTheRequestsInFlight() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox)
        try await idp.fault(#"{"fault":"latency","delay_ms":1500,"route":"token","count":2}"#)
        let requests = Process()
        requests.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        requests.arguments = ["-s", "--parallel", "--parallel-immediate", "--unix-socket", agent.socket, "-w", "%{http_code}\n"]
            + (0..<10).flatMap { ["http://agent/v1/tokens/r1/\($0 % 2 == 0 ? "basic" : "post")", "-o", "/dev/null"] }
        let output = Pipe()
        requests.standardOutput = output
        try requests.run()
        try await Task.sleep(for: .milliseconds(500))
        agent.signal(SIGTERM)
        let data = output.fileHandleForReading.readDataToEndOfFile()
        requests.waitUntilExit()
        let statuses = String(decoding: data, as: UTF8.self).split(separator: "\n")
        #expect(statuses.count == 10 && statuses.allSatisfy { $0 == "200" }, "\(statuses)\n\(agent.log)")
        #expect(agent.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: agent.socket))
    }

    /// A second agent on a socket that one serves is refused; so is a socket directory others
    /// can write to.
    @Test func aSocketIsNeitherTakenOverNorPutWhereOthersCanWrite() throws {
        let sandbox = try Sandbox.populated()
        let agent = try AgentProcess(sandbox)
        let second = try sandbox.run(["agent", "--socket", agent.socket])
        #expect(second.status == 4 && second.stderr.contains("already serving"), "\(second)")
        #expect(try agent.curl("/v1/health").status == 200, "the first still serves")

        let open = sandbox.directory.file("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o777])
        chmod(open, 0o777)
        let unsafe = try sandbox.run(["agent", "--socket", open + "/agent.sock"])
        #expect(unsafe.status == 8 && unsafe.stderr.contains("other users can write"), "\(unsafe)")
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
        try sandbox.ok("client", "remove", "r1/post")
        try await waitFor { agent.log.contains("changed by another process") }
        let gone = try agent.curl("/v1/tokens/r1/post")
        #expect(gone.status == 404, "\(gone.body)")
    }

    /// `GET /metrics` where the policy allows it: Prometheus' text format, checked line by line
    /// as promtool would; and `--log-format json`: every log line one JSON object.
    @Test func metricsParseAndLogsAreJSONLines() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let policy = sandbox.directory.file("policy.json")
        try #"{"rules": [{"users": [\#(getuid())], "allow": ["token", "metrics"]}]}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(sandbox, arguments: ["--policy", policy, "--log-format", "json"])
        #expect(try agent.curl("/v1/tokens/r1/basic").status == 200)
        #expect(try agent.curl("/v1/tokens/r1/basic").status == 200)
        #expect(try agent.curl("/v1/tokens/r1/nope").status == 404)
        let scrape = try agent.curl("/metrics")
        #expect(scrape.status == 200)
        var declared: [String: String] = [:]
        let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")(,[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*")*\})? (-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?|NaN|[-+]Inf)$"#)
        for line in scrape.body.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.split(separator: " ")
                #expect(parts.count == 4 && ["counter", "gauge", "histogram", "summary", "untyped"].contains(parts[3]), "\(line)")
                #expect(declared[String(parts[2])] == nil, "declared twice: \(line)")
                declared[String(parts[2])] = String(parts[3])
            } else if line.hasPrefix("#") {
                #expect(line.hasPrefix("# HELP "), "\(line)")
            } else {
                let match = try #require(try sample.wholeMatch(in: String(line)), "not a sample: \(line)")
                let name = String(match.output[1].substring ?? "")
                let family = ["_bucket", "_sum", "_count"].reduce(name) { name, suffix in
                    name.hasSuffix(suffix) && declared[String(name.dropLast(suffix.count))] == "histogram" ? String(name.dropLast(suffix.count)) : name
                }
                #expect(declared[family] != nil, "a sample before its TYPE: \(line)")
            }
        }
        #expect(scrape.body.contains(#"cloak_agent_token_requests_total{source="idp"} 1"#), "\(scrape.body)")
        #expect(scrape.body.contains(#"cloak_agent_token_requests_total{source="memory"} 1"#))
        #expect(scrape.body.contains(#"cloak_agent_errors_total{code="not_found"} 1"#))
        #expect(scrape.body.contains(#"cloak_client_secret_age_seconds{realm="r1",client="basic"}"#))
        #expect(scrape.body.contains("cloak_agent_idp_fetch_duration_seconds_bucket"))
        #expect(try agent.curl("/v1/health").status == 403, "the policy gives tokens and metrics only")
        #expect(agent.stop() == 0)
        let lines = agent.log.split(separator: "\n")
        #expect(lines.count >= 3)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object?["time"] is String && object?["level"] is String && object?["message"] is String, "\(line)")
        }
        #expect(lines.contains { $0.contains(#""level": "warning""#) && $0.contains(#""peer_uid""#) }, "the refusal, with its peer: \(agent.log)")
    }

    /// 2,000 connections at once — 1,000 idle, 1,000 slow-loris (a request head that never
    /// ends) — and the agent keeps serving; the slow ones are closed after --request-timeout,
    /// the idle ones kept until --idle-timeout.
    @Test func thousandsOfIdleAndSlowConnectionsDoNotStopIt() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox, arguments: ["--request-timeout", "2", "--idle-timeout", "60"])
        let script = """
            import resource, socket, sys
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            def connect():
                s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); return s
            idle = [connect() for _ in range(1000)]
            slow = [connect() for _ in range(1000)]
            for s in slow: s.send(b"GET /v1/health HTTP/1.1\\r\\nHost: agent\\r\\n")
            print("open", flush=True)
            sys.stdin.readline()
            def closed(s):
                s.setblocking(False)
                try: return s.recv(1) == b""
                except BlockingIOError: return False
                except OSError: return True
            print(sum(map(closed, slow)), sum(map(closed, idle)), flush=True)
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, agent.socket]
        let input = Pipe(), output = Pipe()
        (python.standardInput, python.standardOutput) = (input, output)
        try python.run()
        defer { if python.isRunning { python.terminate() } }
        let opened = output.fileHandleForReading.availableData
        #expect(String(decoding: opened, as: UTF8.self).hasPrefix("open"))
        let start = Date()
        let served = try agent.curl("/v1/tokens/r1/basic")
        #expect(served.status == 200, "served with 2,000 connections held: \(served.body)")
        #expect(Date().timeIntervalSince(start) < 5)
        try await Task.sleep(for: .milliseconds(3500))
        input.fileHandleForWriting.write(Data("check\n".utf8))
        let counts = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(counts == [1000, 0], "slow-loris connections closed, idle ones kept: \(counts)")
        #expect(try agent.curl("/v1/health").status == 200)
    }

    /// A user other than the agent's own is held to --rate-limit: 429 beyond it, with the code.
    @Test func otherUsersAreRateLimited() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let directory = "/tmp/cloak-agent-test-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let policy = sandbox.directory.file("policy.json")
        try #"{"rules": [{"users": [\#(getuid())], "allow": ["token"]}, {"users": [65534], "allow": ["token"]}]}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(sandbox, socket: directory + "/agent.sock", arguments: ["--policy", policy, "--rate-limit", "5"])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/curl", "-s", "--unix-socket", agent.socket,
                             "-w", "%{http_code}\n"] + Array(repeating: ["http://agent/v1/tokens/r1/post", "-o", "/dev/null"], count: 30).flatMap { $0 }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let statuses = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        process.waitUntilExit()
        let counts = Dictionary(grouping: statuses, by: { String($0) }).mapValues(\.count)
        #expect((counts["200"] ?? 0) >= 10 && (counts["429"] ?? 0) >= 10 && counts.count == 2, "\(counts)")
        let limited = try agent.curl("/v1/tokens/r1/post", uid: 65534)
        #expect(limited.status == 429 && limited.json["code"] as? String == "rate_limited", "\(limited.body)")
        // The agent's own user is not limited: it could read the vault itself.
        for _ in 0..<15 { #expect(try agent.curl("/v1/tokens/r1/post").status == 200) }
    }

    /// Started as systemd would for a socket unit (the listening socket on fd 3, `LISTEN_PID`,
    /// `LISTEN_FDS`) with `NOTIFY_SOCKET`: it serves on that socket, says READY=1 and, on
    /// SIGTERM, STOPPING=1, and leaves the socket, which is systemd's.
    @Test func systemdSocketActivationAndReadiness() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let socket = sandbox.directory.file("activated.sock"), notify = sandbox.directory.file("notify.sock")
        let script = """
            import os, socket, sys
            binary, path, notify_path = sys.argv[1:4]
            listener = socket.socket(socket.AF_UNIX); listener.bind(path); listener.listen(16)
            notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); notify.bind(notify_path)
            pid = os.fork()
            if pid == 0:
                if listener.fileno() != 3: os.dup2(listener.fileno(), 3)
                os.set_inheritable(3, True)
                env = dict(os.environ, LISTEN_PID=str(os.getpid()), LISTEN_FDS="1", NOTIFY_SOCKET=notify_path)
                os.execve(binary, [binary, "agent", "--socket", path], env)
            print(pid, flush=True)
            notify.settimeout(30)
            while True:
                data = notify.recv(4096).decode()
                print(data.replace("\\n", " "), flush=True)
                if "STOPPING=1" in data: break
            _, status = os.waitpid(pid, 0)
            print("exit", os.waitstatus_to_exitcode(status), flush=True)
            """
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        python.arguments = ["python3", "-c", script, Sandbox.binary, socket, notify]
        python.environment = sandbox.environment.merging(["PATH": "/usr/bin:/bin"]) { $1 }
        let output = Pipe()
        python.standardOutput = output
        try python.run()
        defer { if python.isRunning { python.terminate() } }
        var text = ""
        func readUntil(_ needle: String) {
            let end = Date().addingTimeInterval(20)
            while !text.contains(needle), Date() < end {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
        }
        readUntil("READY=1")
        let pid = try #require(text.split(separator: "\n").first.flatMap { Int32($0) }, "\(text)")
        #expect(text.contains("READY=1 MAINPID=\(pid)"), "\(text)")
        let agent = AgentProcess.Client(socket: socket)
        let served = try agent.curl("/v1/tokens/r1/basic")
        #expect(served.status == 200, "\(served.body)")
        kill(pid, SIGTERM)
        readUntil("exit ")
        python.waitUntilExit()
        #expect(text.contains("STOPPING=1") && text.contains("exit 0"), "\(text)")
        #expect(FileManager.default.fileExists(atPath: socket), "an activated socket is systemd's to remove")
    }

    /// `--listen` on loopback for consumers that cannot reach the socket: each request presents
    /// a credential from `cloak agent consumer add`, and gets only what that consumer may; a
    /// removed consumer, or a row widened by editing the file, gets nothing.
    @Test func consumersOnTheLoopbackListener() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let added = try sandbox.ok("agent", "consumer", "add", "orders-box", "--clients", "r1/post")
        let credential = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(credential.hasPrefix("cloak_agent_") && credential.count == 12 + 64, "\(added)")
        let listed = try sandbox.ok("agent", "consumer", "list", "--json")
        #expect(listed.stdout.contains("orders-box") && listed.stdout.contains("r1/post") && !listed.stdout.contains(credential))
        #expect(!(try sandbox.contents).contains(credential), "the vault keeps a digest, not the credential")
        #expect(try sandbox.run(["agent", "--listen", "0.0.0.0:8477"]).status == 2, "loopback only")

        let agent = try AgentProcess(sandbox, arguments: ["--listen", "127.0.0.1:0"])
        let address = try #require(agent.log.split(separator: "\n").first { $0.contains("listening on 127.0.0.1:") }
            .flatMap { $0.split(separator: " ").first { $0.hasPrefix("127.0.0.1:") } }, "\(agent.log)")
        func tcp(_ path: String, bearer: String?, method: String = "GET") throws -> (Int, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            process.arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "http://\(address)\(path)"] + (bearer.map { ["-H", "Authorization: Bearer \($0)"] } ?? [])
            let output = Pipe()
            process.standardOutput = output
            try process.run()
            let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            let newline = text.lastIndex(of: "\n") ?? text.startIndex
            return (Int(text[newline...].dropFirst()) ?? 0, String(text[..<newline]))
        }
        let (granted, body) = try tcp("/v1/tokens/r1/post", bearer: credential)
        #expect(granted == 200 && body.contains("access_token"), "\(body)")
        #expect(try tcp("/v1/tokens/r1/basic", bearer: credential).0 == 403)
        #expect(try tcp("/v1/clients", bearer: credential).0 == 403)
        #expect(try tcp("/v1/sinks/r1/post", bearer: credential, method: "POST").0 == 403)
        #expect(try tcp("/v1/health", bearer: credential).0 == 200)
        #expect(try tcp("/v1/tokens/r1/post", bearer: nil).0 == 401)
        #expect(try tcp("/v1/tokens/r1/post", bearer: "cloak_agent_" + String(repeating: "0", count: 64)).0 == 401)

        // Widened by editing the file: the tag no longer matches, and the credential stops working.
        _ = try RawVault.execute(sandbox.vault, "UPDATE agent_consumers SET clients = '*/*'")
        #expect(try tcp("/v1/tokens/r1/post", bearer: credential).0 == 401)
        _ = try RawVault.execute(sandbox.vault, "UPDATE agent_consumers SET clients = 'r1/post'")
        #expect(try tcp("/v1/tokens/r1/post", bearer: credential).0 == 200)
        try sandbox.ok("agent", "consumer", "remove", "orders-box")
        #expect(try tcp("/v1/tokens/r1/post", bearer: credential).0 == 401, "removed: refused at once")
        #expect(!agent.log.contains(credential), "\(agent.log)")
        #expect(agent.stop() == 0)
    }

    /// The IdP goes away: a token still valid is served from memory, a refresh fails with the
    /// library's code (504, idp_unavailable), health says which realm's IdP is unreachable, and
    /// the vault is intact.
    @Test func anIdPThatGoesAwayIsReportedAndValidTokensStillServed() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let agent = try AgentProcess(sandbox, environment: ["CLOAK_DEADLINE": "2"])
        #expect(try agent.curl("/v1/tokens/r1/basic").status == 200)
        idp.stop()
        let served = try agent.curl("/v1/tokens/r1/basic")
        #expect(served.status == 200 && served.json["source"] as? String == "memory", "\(served.body)")
        let refresh = try agent.curl("/v1/tokens/r1/basic?refresh=true")
        #expect(refresh.status == 504 && refresh.json["code"] as? String == "idp_unavailable", "\(refresh.body)")
        let health = try agent.curl("/v1/health")
        let realm = (health.json["realms"] as? [[String: Any]])?.first
        #expect(health.json["status"] as? String == "degraded" && realm?["idp"] as? String == "unreachable" && realm?["problem"] is String, "\(health.body)")
        #expect(agent.stop() == 0)
        #expect(try sandbox.run(["doctor"]).status == 0, "the vault is intact")
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

    private func waitFor(_ condition: () -> Bool) async throws {
        let end = Date().addingTimeInterval(10)
        while !condition(), Date() < end { try await Task.sleep(for: .milliseconds(50)) }
        #expect(condition())
    }
}
