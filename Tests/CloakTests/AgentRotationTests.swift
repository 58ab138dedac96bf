import Foundation
import CloakroomTestSupport
import Testing

/// The agent's rotations: on schedule (a client's own or its realm's), with the `--on-rotate`
/// hook; on request over the socket, with events; and a `kill -9` in the middle of one.
@Suite(.serialized) struct AgentRotationTests {
    /// Two hours ago, as the vault records it (debug builds only): secrets stored with this are
    /// due under an hourly schedule, with no wait and no edit of the file behind cloak's back.
    static let twoHoursAgo = ["CLOAK_TEST_CLOCK_OFFSET": "-7200"]

    /// RotationTests' realm r1, its clients stored two hours ago.
    static func sandbox(_ idp: IdP) throws -> Sandbox {
        let sandbox = Sandbox()
        func ok(_ arguments: [String], stdin: String? = nil) throws {
            let outcome = try sandbox.run(arguments, stdin: stdin, environment: twoHoursAgo)
            #expect(outcome.status == 0, "cloak \(arguments.joined(separator: " ")): \(outcome)")
        }
        try ok(["init"])
        try ok(["realm", "add", "r1", "--token-url", idp.tokenURL])
        try ok(["client", "add", "--no-verify", "r1/admin", "--client-id", "rot-admin", "--secret-stdin"], stdin: RotationTests.adminSecret)
        try ok(["client", "add", "--no-verify", "r1/orders", "--client-id", "orders-svc", "--secret-stdin"], stdin: RotationTests.ordersSecret)
        try ok(["client", "add", "--no-verify", "r1/billing", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin"], stdin: RotationTests.billingSecret)
        try ok(["realm", "update", "r1", "--admin-client", "r1/admin"])
        return sandbox
    }

    private func version(_ sandbox: Sandbox, _ ref: String) throws -> Int? {
        let show = try sandbox.ok("client", "show", ref, "--json")
        return (try JSONSerialization.jsonObject(with: Data(show.stdout.utf8)) as? [String: Any])?["secret_version"] as? Int
    }

    /// A realm-wide schedule makes its clients due; the agent rotates each once (the admin client
    /// last), runs the hook with the client and version and without the vault's settings, and
    /// the IdP accepts every new secret.
    @Test func dueClientsAreRotatedAndTheHookRuns() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try Self.sandbox(idp)
        try sandbox.ok("realm", "update", "r1", "--rotate-every", "1h")
        #expect(try sandbox.ok("realm", "show", "r1").stdout.contains("1h (clients without their own)"))
        let hooks = sandbox.directory.file("hooks.log")
        let agent = try AgentProcess(sandbox, arguments: [
            "--schedule-check", "0.5",
            "--on-rotate", #"echo "$CLOAK_REALM/$CLOAK_CLIENT v$CLOAK_SECRET_VERSION key=$CLOAK_KEY_FILE sock=${CLOAK_AGENT_SOCK:+set}" >> '"# + hooks + "'",
        ])
        try await waitFor(seconds: 20) { ((try? String(contentsOfFile: hooks, encoding: .utf8)) ?? "").split(separator: "\n").count == 3 }
        try #require(FileManager.default.fileExists(atPath: hooks), "\(agent.log)")
        let lines = Set(try String(contentsOfFile: hooks, encoding: .utf8).split(separator: "\n").map(String.init))
        #expect(lines == ["r1/admin v2 key= sock=set", "r1/orders v2 key= sock=set", "r1/billing v2 key= sock=set"], "\(lines)\n\(agent.log)")
        // Not due any more: two more looks at the schedule rotate nothing.
        try await Task.sleep(for: .milliseconds(1500))
        #expect(try String(contentsOfFile: hooks, encoding: .utf8).split(separator: "\n").count == 3, "\(agent.log)")
        #expect(agent.stop() == 0)
        for ref in ["r1/admin", "r1/orders", "r1/billing"] {
            #expect(try version(sandbox, ref) == 2)
        }
        #expect(try sandbox.tokenJSON("r1/billing", ["--refresh"]).0.status == 0, "the IdP accepts the new secret")
        #expect(!(try await RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret)), "the old one is gone")
        #expect(!agent.log.contains(RotationTests.ordersSecret), "\(agent.log)")

        // --no-rotate: a due client stays as it is.
        try sandbox.ok("client", "update", "r1/orders", "--rotate-every", "1m")
        let quiet = try AgentProcess(sandbox, arguments: ["--schedule-check", "0.5", "--no-rotate"], environment: ["CLOAK_TEST_CLOCK_OFFSET": "600"])
        try await Task.sleep(for: .milliseconds(1500))
        #expect(quiet.stop() == 0)
        #expect(try version(sandbox, "r1/orders") == 2, "\(quiet.log)")
    }

    /// `kill -9` of the agent right after it pushed a scheduled rotation's secret: the next
    /// agent finds the open journal and settles it, and the IdP and the vault agree.
    @Test func anAgentKilledMidRotationIsSettledByTheNext() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try Self.sandbox(idp)
        let updated = try sandbox.run(["client", "update", "r1/orders", "--rotate-every", "1h"], environment: Self.twoHoursAgo)
        #expect(updated.status == 0, "\(updated)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["agent", "--socket", sandbox.directory.file("run/agent.sock"), "--schedule-check", "0.5"]
        process.environment = sandbox.environment.merging(["CLOAK_TEST_CRASH_AFTER": "sent"]) { $1 }
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL)
        #expect(try await RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret) == false, "the new secret was pushed")
        let status = try sandbox.ok("rotate", "--resume", "--dry-run")
        #expect(status.stdout.contains("r1/orders"), "an open journal: \(status)")

        let agent = try AgentProcess(sandbox, arguments: ["--schedule-check", "0.5"])
        try await waitFor(seconds: 20) { agent.log.contains("rotated r1/orders") }
        #expect(agent.stop() == 0)
        #expect(try version(sandbox, "r1/orders") == 2)
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0, "the vault's current secret is the IdP's")
        #expect(try sandbox.ok("rotate", "--resume").stderr.contains("no interrupted rotations"))
    }

    /// `POST /v1/rotations/REALM/NAME` where the policy allows it, and the events a subscriber of
    /// `GET /v1/events` sees: the rotation's start and finish and the token fetched, never a secret.
    @Test func rotationOnRequestAndItsEvents() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        let plain = try AgentProcess(sandbox)
        let refused = try plain.curl("/v1/rotations/r1/orders", method: "POST")
        #expect(refused.status == 403, "the default policy does not rotate: \(refused.body)")
        plain.stop()

        let policy = sandbox.directory.file("policy.json")
        try #"{"rules": [{"users": [\#(getuid())], "allow": ["token", "rotate", "events"]}]}"#.write(toFile: policy, atomically: true, encoding: .utf8)
        let agent = try AgentProcess(sandbox, arguments: ["--policy", policy, "--no-rotate"])
        let events = sandbox.directory.file("events")
        let subscriber = Process()
        subscriber.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        subscriber.arguments = ["-sN", "--unix-socket", agent.socket, "http://agent/v1/events", "-o", events]
        try subscriber.run()
        defer { if subscriber.isRunning { subscriber.terminate() } }
        try await waitFor(seconds: 20) { ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("events follow") }

        let rotated = try agent.curl("/v1/rotations/r1/orders", method: "POST")
        #expect(rotated.status == 200 && rotated.json["result"] as? String == "rotated" && rotated.json["to_version"] as? Int == 2, "\(rotated.body)")
        #expect(try agent.curl("/v1/tokens/r1/orders").status == 200)
        try await waitFor(seconds: 20) { ((try? String(contentsOfFile: events, encoding: .utf8)) ?? "").contains("event: token.fetched") }
        let stream = try String(contentsOfFile: events, encoding: .utf8)
        #expect(stream.contains("event: rotation.started\ndata: {"), "\(stream)")
        #expect(stream.contains("event: rotation.finished\ndata: {") && stream.contains(#""secret_version": 2"#), "\(stream)")
        #expect(!stream.contains(RotationTests.ordersSecret) && !stream.contains("access_token") && !stream.contains("eyJ"), "\(stream)")
        // The agent stops with a subscriber connected: the stream ends, and so does curl.
        #expect(agent.stop() == 0)
        try await waitFor(seconds: 20) { !subscriber.isRunning }
    }
}
