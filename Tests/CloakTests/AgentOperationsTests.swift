import Foundation
import CloakroomTestSupport
import Testing


/// The agent as an operator runs it: metrics, logs, systemd, stopping, an IdP that goes away.
@Suite(.serialized) struct AgentOperationsTests {
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

    /// Each mistake in starting the agent, naming its consumers or its command's variables is a
    /// clear error with its exit status, before anything is served or written: the vault is
    /// unchanged and no socket is left behind.
    @Test func badInputIsAClearErrorAndChangesNothing() throws {
        let sandbox = try Sandbox.populated()
        let socket = sandbox.directory.file("run/agent.sock")
        let broken = sandbox.directory.file("broken.json")
        try "{not json".write(toFile: broken, atomically: true, encoding: .utf8)
        let before = try sandbox.contents
        let cases: [([String], Int32, String)] = [
            (["agent", "--socket", socket, "--sink", "nope"], 2, "a sink is REALM/NAME=PATH[:FORMAT], not 'nope'"),
            (["agent", "--socket", socket, "--sink", "prod/orders=relative/token"], 2, "must be absolute, not 'relative/token'"),
            (["agent", "--socket", socket, "--policy", sandbox.directory.file("missing.json")], 3, "policy file \(sandbox.directory.file("missing.json"))"),
            (["agent", "--socket", socket, "--policy", broken], 2, "is not a policy"),
            (["agent", "--socket", socket, "--log-format", "xml"], 2, "--log-format is text or json"),
            (["agent", "--socket", socket, "--listen", "10.0.0.1:8477"], 2, "loopback only"),
            (["agent", "--socket", socket, "--rate-limit", "0"], 2, "--rate-limit takes"),
            (["agent", "consumer", "add", "box", "--clients", "orders"], 2, "REALM/NAME globs"),
            (["agent", "consumer", "add", "box"], 2, "give --clients GLOB"),
            (["agent", "consumer", "remove", "ghost"], 3, "no consumer named ghost"),
            (["realm", "update", "prod", "--rotate-every", "30s"], 2, "--rotate-every must be from 1m"),
            (["exec", "--env", "1BAD=prod/orders", "--", "/bin/true"], 2, "--env must be a variable name"),
            (["exec", "--token-file", "NOEQ", "--", "/bin/true"], 2, "--token-file takes NAME=REALM/CLIENT, not 'NOEQ'"),
        ]
        for (arguments, status, message) in cases {
            let outcome = try sandbox.run(arguments)
            #expect(outcome.status == status && outcome.stderr.contains(message), "cloak \(arguments.joined(separator: " ")): \(outcome)")
        }
        #expect(try sandbox.contents == before, "nothing was written")
        #expect(!FileManager.default.fileExists(atPath: socket), "no socket left behind")
    }
}
