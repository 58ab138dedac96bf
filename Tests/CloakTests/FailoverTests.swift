import Foundation
import CloakroomTestSupport
import Testing

/// A team vault on a primary with a synchronous streaming standby (scripts/postgres-pair.sh, a
/// pair of its own on loopback), reached by a two-host URL with `target_session_attrs=read-write`.
/// The primary is killed while rotations run; the standby is promoted; nothing that was
/// reported done is lost, and everyone carries on against the new primary.
@Suite(.serialized, .enabled(if: Sandbox.teamVault() != nil)) struct FailoverTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("scripts/postgres-pair.sh").path

    /// `scripts/postgres-pair.sh COMMAND DIR`: its stdout, or a failure with its stderr.
    @discardableResult
    static func pair(_ command: String, _ directory: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script, command, directory]
        let output = Pipe(), errors = Pipe()
        (process.standardOutput, process.standardError) = (output, errors)
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RawVault.Failure(description: "postgres-pair.sh \(command) failed: \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// DIR/env's `export NAME='VALUE'` lines.
    static func environment(_ directory: String) throws -> [String: String] {
        let text = try String(contentsOfFile: directory + "/env", encoding: .utf8)
        var values: [String: String] = [:]
        for line in text.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count)
            guard let equals = pair.firstIndex(of: "=") else { continue }
            values[String(pair[..<equals])] = String(pair[pair.index(after: equals)...].dropFirst().dropLast())
                .replacingOccurrences(of: #"'\''"#, with: "'")
        }
        return values
    }

    @Test func aPromotedStandbyHasEveryRotationThatWasReportedDone() async throws {
        let directory = TemporaryDirectory()
        let pairDirectory = directory.file("pair")
        chmod(directory.path, 0o711)  // the servers' user must reach DIR
        try FileManager.default.createDirectory(atPath: pairDirectory, withIntermediateDirectories: true)
        try Self.pair("start", pairDirectory)
        defer { _ = try? Self.pair("stop", pairDirectory) }
        let pair = try Self.environment(pairDirectory)
        let url = try #require(pair["PAIR_URL"]) + "&sslmode=verify-full&sslrootcert=\(pair["PAIR_CA"]!)&schema=failover"
        let idp = try IdP(configuration: RotationTests.configuration)
        let hosts = (0..<2).map { _ in Sandbox(vault: url) }
        for host in hosts { host.extraEnvironment = ["PGPASSFILE": pair["PAIR_PGPASSFILE"]!, "CLOAK_BUSY_TIMEOUT": "5"] }
        let owner = hosts[0]
        try owner.ok("init")
        try owner.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL])
        try owner.ok("client", "add", "--no-verify", "r1/admin", "--client-id", "rot-admin", "--secret-stdin", stdin: RotationTests.adminSecret)
        try owner.ok("client", "add", "--no-verify", "r1/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: RotationTests.ordersSecret)
        try owner.ok("client", "add", "--no-verify", "r1/billing", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin", stdin: RotationTests.billingSecret)
        try owner.ok("realm", "update", "r1", "--admin-client", "r1/admin")
        try FileManager.default.copyItem(atPath: owner.keyFile, toPath: hosts[1].keyFile)
        let agent = try AgentProcess(hosts[1])
        let warm = try agent.curl("/v1/tokens/r1/billing")
        #expect(warm.status == 200, "\(warm.body)")

        // Rotations of r1/orders one after another, on host 0, until told to stop: each one's
        // exit status and the version it reported.
        let stop = Stopper()
        let rotations = Task.detached { () -> [(status: Int32, version: Int?)] in
            var done: [(Int32, Int?)] = []
            while !stop.isSet {
                let outcome = try owner.run(["rotate", "r1/orders", "--json"])
                let json = try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]
                let version = ((json?["results"] as? [[String: Any]])?.first?["to_version"] as? Int)
                done.append((outcome.status, version))
            }
            return done
        }
        try await Task.sleep(for: .seconds(2))
        try Self.pair("kill-primary", pairDirectory)
        let killed = Date()
        // While nobody takes writes, the agent serves the token it holds, from memory.
        let held = try agent.curl("/v1/tokens/r1/billing")
        #expect(held.status == 200 && held.json["access_token"] as? String == warm.json["access_token"] as? String, "\(held.body)")
        try await Task.sleep(for: .seconds(1))
        let promotion = Int(try Self.pair("promote", pairDirectory).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        // The first token served by a new process from the promoted standby.
        var served: Date?
        for _ in 0..<200 {
            if try hosts[1].run(["token", "r1/billing"]).status == 0 { served = Date(); break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let failover = try #require(served).timeIntervalSince(killed)
        print("failover: primary killed → standby promoted in \(promotion) ms (after a 1 s pause) → first token served \(Int(failover * 1000)) ms after the kill")
        try await Task.sleep(for: .seconds(2))
        stop.set()
        let outcomes = try await rotations.value

        // Every rotation reported done (exit 0) is in the promoted standby: the vault's version is
        // at least the newest reported, once any rotation the kill cut short is settled.
        let reported = outcomes.filter { $0.status == 0 }.compactMap(\.version)
        #expect(!reported.isEmpty && outcomes.contains { $0.status != 0 }, "rotations before and during the outage: \(outcomes)")
        #expect(Set(outcomes.map(\.status)).isSubset(of: [0, 17, 19]), "\(outcomes)")
        let resumed = try owner.run(["rotate", "--resume"])
        #expect(resumed.status == 0, "\(resumed)")
        let shown = try owner.ok("client", "show", "r1/orders", "--json").stdout
        let version = (try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["secret_version"] as? Int ?? 0
        #expect(version >= reported.max()!, "a rotation reported done was lost: \(version) < \(reported.max()!)")
        #expect(try owner.tokenJSON("r1/orders", ["--refresh"]).0.status == 0, "the IdP accepts the vault's current secret")
        #expect(try owner.run(["log", "--verify"]).status == 0)
        // The agent reconnected: a token it refreshes is written to the new primary.
        #expect(try hosts[1].tokenJSON("r1/billing", ["--refresh"], environment: ["CLOAK_AGENT_SOCK": agent.socket]).0.status == 0)
        #expect(agent.stop() == 0, "\(agent.log)")
    }
}

/// A flag one task sets and another reads.
final class Stopper: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.withLock { value } }
    func set() { lock.withLock { value = true } }
}
