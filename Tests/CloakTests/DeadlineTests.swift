import Foundation
import CloakroomTestSupport
import Testing

/// `CLOAK_DEADLINE` bounds the whole exchange — head *and body* — of every request cloak makes,
/// against a hostile cloak-idp on 127.0.0.1 that sends its head and then drips the body one byte
/// a second (`slow-body`) or promises more than it sends and holds the connection (`short-body`).
@Suite(.serialized) struct DeadlineTests {
    static let hostileBodies = [
        #"{"fault":"slow-body","interval_ms":1000"#,
        // Held a little longer than the bound below (so a deadline that ignores the body fails
        // the test), and no longer: stopping cloak-idp waits for the held request.
        #"{"fault":"short-body","sent":10,"hold_ms":25000"#,
    ]

    @Test(arguments: hostileBodies)
    func tokenEndpointThatStallsItsBodyFailsWithinTheDeadline(fault: String) async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(fault + #","route":"token"}"#)
        let (outcome, seconds) = try await offPool { try sandbox.runBounded(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": "2"]) }
        #expect(outcome.status == 12 && outcome.stdout.isEmpty, "\(outcome)")
        #expect(outcome.stderr.contains("timed out"), "\(outcome)")
        #expect(seconds < 20, "took \(seconds) s with a 2 s deadline")
        try await offPool { idp.stop() }  // waits out a held request: not on the test's thread pool
    }

    /// The admin API (rotation's calls) is held to the deadline as well: the rotation fails
    /// before anything changed, and the client keeps its secret.
    @Test(arguments: hostileBodies)
    func adminAPIThatStallsItsBodyFailsWithinTheDeadline(fault: String) async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        try await idp.fault(fault + #","route":"admin"}"#)
        let (outcome, seconds) = try await offPool { try sandbox.runBounded(["rotate", "r1/orders"], environment: ["CLOAK_DEADLINE": "2"]) }
        #expect(outcome.status == 12, "\(outcome)")
        #expect(seconds < 20, "took \(seconds) s with a 2 s deadline (admin calls get twice that)")
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders") == 1)
        #expect(try await RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret))
        try await offPool { idp.stop() }
    }

    /// Discovery: at `realm add` (which then leaves it to the first token request) and at that
    /// first token request, which cannot go on without it.
    @Test(arguments: hostileBodies)
    func discoveryThatStallsItsBodyFailsWithinTheDeadline(fault: String) async throws {
        let idp = try IdP()
        try await idp.fault(fault + #","route":"discovery"}"#)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let (add, addSeconds) = try await offPool { try sandbox.runBounded(["realm", "add", "r1", "--issuer", idp.issuer], environment: ["CLOAK_DEADLINE": "2"]) }
        #expect(add.status == 0 && add.stderr.contains("asked on the first token request"), "\(add)")
        #expect(addSeconds < 20, "realm add took \(addSeconds) s with a 2 s deadline")
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let (outcome, seconds) = try await offPool { try sandbox.runBounded(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": "2"]) }
        #expect(outcome.status == 12 && outcome.stdout.isEmpty, "\(outcome)")
        #expect(seconds < 20, "took \(seconds) s with a 2 s deadline")
        #expect(try await idp.tokenRequests() == 0)
        try await offPool { idp.stop() }
    }
}

/// Runs blocking work (a child process, waiting for one) on a thread of its own, so that the
/// test process's cooperative pool — as many threads as cores, two here — stays free for the
/// suites running alongside: blocked for the length of a held request, it starved their
/// in-process deadlines.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

extension Sandbox {
    /// Runs `cloak` like `run`, but kills it (by its PID) after `limit` seconds, so a regression
    /// that hangs fails the test instead of hanging the suite. Returns the outcome and how long it took.
    func runBounded(_ arguments: [String], environment extra: [String: String] = [:], limit: TimeInterval = 30) throws -> (Outcome, TimeInterval) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.environment = environment.merging(extra) { $1 }
        let output = Pipe(), errors = Pipe()
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = output
        process.standardError = errors
        let start = Date()
        try process.run()
        let pid = process.processIdentifier
        let watchdog = DispatchWorkItem { kill(pid, SIGKILL) }
        DispatchQueue.global().asyncAfter(deadline: .now() + limit, execute: watchdog)
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        watchdog.cancel()
        let outcome = Outcome(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
        return (outcome, Date().timeIntervalSince(start))
    }
}
