import Foundation
import CloakroomTestSupport
import Testing


/// Who may reach the agent and how much: the policy, the rate limit, TCP consumers, the socket's
/// place, and connections that never finish.
@Suite(.serialized) struct AgentAccessTests {
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
}
