import Foundation
import CloakroomTestSupport
import Testing

/// A crash of `cloak` while it holds secrets: it dies of the signal and writes no core.
@Suite(.serialized) struct CoreDumpTests {
    /// SIGABRT while a token request is in flight: the process dies of it (not swallowed by the
    /// runtime's backtracer) and leaves no core, even with `ulimit -c unlimited`.
    @Test func abortDuringATokenRequestDiesOfTheSignalAndLeavesNoCore() async throws {
        let pattern = (try? String(contentsOfFile: "/proc/sys/kernel/core_pattern", encoding: .utf8)) ?? ""
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":6000,"route":"token","count":1}"#)
        let workdir = TemporaryDirectory()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        // exec: the shell becomes cloak, so the PID is cloak's and the core limit is unlimited.
        process.arguments = ["-c", "ulimit -c unlimited 2>/dev/null; exec \"$0\" token r1/basic", Sandbox.binary]
        process.currentDirectoryURL = URL(fileURLWithPath: workdir.path)
        process.environment = sandbox.environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let pid = process.processIdentifier
        // Wait (bounded) until cloak is waiting on the IdP: it has a TCP connection open.
        var limits = ""
        for _ in 0..<200 {
            try await Task.sleep(for: .milliseconds(25))
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            let sockets = fds.filter { ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")) ?? "").hasPrefix("socket:") }
            if sockets.count >= 1, (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"))?.hasSuffix("/cloak") == true {
                limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
                try await Task.sleep(for: .milliseconds(300))
                break
            }
        }
        kill(pid, SIGABRT)
        try await offPool { process.waitUntilExit() }
        try await offPool { idp.stop() }  // waits out the delayed request: not on the test's thread pool
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGABRT,
                "reason \(process.terminationReason.rawValue), status \(process.terminationStatus)")
        let coreLine = limits.split(separator: "\n").first { $0.hasPrefix("Max core file size") }.map(String.init) ?? "(no limits read)"
        #expect(coreLine.split(separator: " ", omittingEmptySubsequences: true).dropFirst(4).first == "0", "\(coreLine)")
        if pattern.hasPrefix("|") {
            // Cores go to a handler program here, not to the working directory: nothing to look for.
            print("note: core_pattern is a pipe (\(pattern.trimmingCharacters(in: .newlines))): the no-core-file assertion was skipped")
            return
        }
        let left = try FileManager.default.contentsOfDirectory(atPath: workdir.path).filter { $0.hasPrefix("core") }
        #expect(left.isEmpty, "core files: \(left)")
    }

    /// `cloak exec` hands the command the core limit cloak started with: its crashes are its own.
    @Test func execGivesTheCommandTheCoreLimitCloakStartedWith() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let outcome = try sandbox.run([], viaShell: #"ulimit -c unlimited 2>/dev/null && exec "$0" exec r1/basic -- /bin/sh -c 'ulimit -c'"#)
        #expect(outcome.status == 0 && outcome.stdout == "unlimited\n", "\(outcome)")
    }
}
