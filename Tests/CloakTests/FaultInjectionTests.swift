import Foundation
import CloakroomTestSupport
import Testing

/// Faults of the machine rather than of the input: a full disk at the worst moment. The vault
/// lives on a small tmpfs of the test's own (root only), which the test fills itself.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct FaultInjectionTests {
    /// Item 7 of issue 9: the disk fills while Keycloak applies the new secret, so the journal
    /// cannot record the push. That is exit 17 (both secrets kept, `--resume`), never "nothing
    /// was changed"; once there is space, `--resume` finishes the rotation and nothing is lost.
    @Test func diskFullAfterThePushIsAnUnfinishedRotation() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let disk = try SmallDisk(idp)
        defer { disk.unmount() }
        let sandbox = disk.sandbox, volume = disk.volume

        // The PUT is answered slowly; meanwhile the test fills the disk under the vault. (2.5 s
        // was too short on a loaded machine: the PUT was answered before the disk was full, and
        // the rotation finished. An admin call may take twice CLOAK_DEADLINE, 20 s.)
        try await idp.fault(#"{"fault":"latency","delay_ms":6000,"route":"admin.client","method":"PUT"}"#)
        let rotation = try sandbox.start(["rotate", "r1/orders"])
        try await waitFor("the rotation to be prepared") {
            try RawVault.execute(sandbox.vault, "SELECT count(*) FROM rotations WHERE state = 'prepared'") == ["1"]
        }
        // Empty the WAL first (a checkpoint that truncates it), so the journal's next write
        // needs new blocks rather than reusing the WAL's old ones.
        _ = try RawVault.execute(sandbox.vault, "PRAGMA wal_checkpoint(TRUNCATE)")
        let filler = volume + "/filler"
        Mount.fill(filler)
        let outcome = rotation.wait()

        #expect(outcome.status == 17, "\(outcome)")
        #expect(outcome.stderr.contains("cloak rotate --resume r1/orders") && !outcome.stderr.contains("Nothing was changed"), "\(outcome)")
        #expect(try await !RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret), "the push arrived")
        RotationTests.expectNoSecrets(outcome)

        try FileManager.default.removeItem(atPath: filler)
        try await idp.control("DELETE", "faults")
        #expect(try sandbox.ok("rotate", "--resume").stderr.contains("finished"))
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders") == 2)
        #expect(try sandbox.tokenJSON("r1/orders", ["--refresh"]).0.status == 0)
        try sandbox.ok("doctor")
    }

    /// A full disk at the first write of each command that writes: exit 8 with a message that
    /// says so, the vault byte for byte as it was, and once there is space again the same command
    /// succeeds and `cloak doctor` is content.
    @Test(arguments: [
        ["client", "add", "--no-verify", "r1/extra", "--client-id", "extra-svc", "--secret-stdin"],
        ["client", "update", "r1/orders", "--rotate-every", "30d"],
        ["rotate", "r1/orders"],
        ["export", "BUNDLE", "--bundle-key-file", "BUNDLE_KEY"],
        ["import", "bundle", "OTHER_BUNDLE", "--bundle-key-file", "BUNDLE_KEY"],
        ["rekey"],
        ["keyslot", "add", "--new-key-file", "SECOND_KEY"],
    ])
    func diskFullAtTheFirstWriteChangesNothing(arguments: [String]) async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let disk = try SmallDisk(idp)
        defer { disk.unmount() }
        let sandbox = disk.sandbox, volume = disk.volume
        // A bundle from another vault to import, made before the disk fills.
        let other = try Sandbox.populated()
        try other.ok("export", other.directory.file("other.bundle"), "--bundle-key-file", sandbox.directory.file("bundle.key"))
        let placeholders = ["BUNDLE": volume + "/out.bundle", "BUNDLE_KEY": sandbox.directory.file("bundle.key"),
                            "OTHER_BUNDLE": other.directory.file("other.bundle"), "SECOND_KEY": volume + "/second.key"]
        let arguments = arguments.map { placeholders[$0] ?? $0 }

        _ = try RawVault.execute(sandbox.vault, "PRAGMA wal_checkpoint(TRUNCATE)")
        let before = try sandbox.contents
        let filler = volume + "/filler"
        Mount.fill(filler)
        let outcome = try sandbox.run(arguments, stdin: "fake-extra-secret-0000")
        #expect(outcome.status == 8, "\(outcome)")
        #expect(outcome.stderr.contains("full") || outcome.stderr.contains("No space left"), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
        RotationTests.expectNoSecrets(outcome)
        #expect(!outcome.stderr.contains("fake-extra"))
        try FileManager.default.removeItem(atPath: filler)
        #expect(try sandbox.contents == before, "the vault changed")
        #expect(!FileManager.default.fileExists(atPath: placeholders["BUNDLE"]!), "a partial bundle was left")

        let again = try sandbox.run(arguments, stdin: "fake-extra-secret-0000")
        #expect(again.status == 0, "\(again)")
        try sandbox.ok("doctor")
    }

    /// A token the IdP issued while the disk filled up is still the caller's: printed, with a
    /// warning that it could not be cached, and the vault left as it was. (With the disk full
    /// from the start even reads fail — SQLite must size its `-shm` file — and that is exit 8.)
    @Test func tokenFetchedAsTheDiskFillsIsPrintedUncached() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let disk = try SmallDisk(idp)
        defer { disk.unmount() }
        let sandbox = disk.sandbox, volume = disk.volume
        try await idp.fault(#"{"fault":"latency","delay_ms":2500,"route":"token","client_id":"orders-svc"}"#)

        let fetch = try sandbox.start(["token", "r1/orders"])
        // Its request held at the IdP, the fetch holds its token lock and has yet to write.
        for _ in 0..<500 where try await idp.arrivals("token") == 0 { try await Task.sleep(for: .milliseconds(20)) }
        try #require(try await idp.arrivals("token") == 1, "the fetch's request did not arrive")
        _ = try RawVault.execute(sandbox.vault, "PRAGMA wal_checkpoint(TRUNCATE)")
        let contents = try sandbox.contents
        let filler = volume + "/filler"
        Mount.fill(filler)
        let outcome = fetch.wait()

        #expect(outcome.status == 0 && outcome.stdout.split(separator: ".").count == 3, "\(outcome)")
        #expect(outcome.stderr.contains("could not be cached") && outcome.stderr.contains("full"), "\(outcome)")
        RotationTests.expectNoSecrets(outcome)
        try FileManager.default.removeItem(atPath: filler)
        #expect(try sandbox.contents == contents, "the vault changed")
        try sandbox.ok("doctor")
    }

    /// Polls `condition` every 20 ms for up to 20 s.
    private func waitFor(_ what: String, _ condition: () throws -> Bool) async throws {
        for _ in 0..<1000 {
            if (try? condition()) == true { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("timed out waiting for \(what)")
    }
}

/// A vault on a 4 MiB tmpfs of the test's own, populated as `RotationTests.sandbox` is, which the
/// test fills when it chooses. The test unmounts it (in a `defer`) before the sandbox's directory goes.
final class SmallDisk {
    let sandbox = Sandbox()
    let volume: String

    init(_ idp: IdP) throws {
        volume = sandbox.directory.file("vault")
        try FileManager.default.createDirectory(atPath: volume, withIntermediateDirectories: false)
        guard Mount.tmpfs(volume, megabytes: 4) else { throw RawVault.Failure(description: "mount -t tmpfs failed") }
        do { try RotationTests.populate(sandbox, idp) } catch { Mount.unmount(volume); throw error }
    }

    func unmount() { Mount.unmount(volume) }
}

extension Mount {
    static func tmpfs(_ directory: String, megabytes: Int) -> Bool {
        run(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700", "tmpfs", directory])
    }

    /// Writes zeros to `path` until the file system says it is full.
    static func fill(_ path: String) {
        guard let handle = fopen(path, "w") else { return }
        defer { fclose(handle) }
        let block = [UInt8](repeating: 0, count: 64 * 1024)
        while fwrite(block, 1, block.count, handle) == block.count {}
        while fputc(0, handle) != EOF {}
        fflush(handle)
    }
}

/// A `cloak` process left running while the test does something else.
final class RunningCloak: @unchecked Sendable {
    let process = Process()
    let output = Pipe(), errors = Pipe()

    func wait() -> Outcome {
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }
}

extension Sandbox {
    /// Starts `cloak arguments…` (or, with `viaShell`, that shell command with the binary as `$0`).
    func start(_ arguments: [String], environment extra: [String: String] = [:], viaShell: String? = nil) throws -> RunningCloak {
        let running = RunningCloak()
        if let viaShell {
            running.process.executableURL = URL(fileURLWithPath: "/bin/sh")
            running.process.arguments = ["-c", viaShell, Self.binary]
        } else {
            running.process.executableURL = URL(fileURLWithPath: Self.binary)
            running.process.arguments = arguments
        }
        running.process.environment = environment.merging(extra) { $1 }
        running.process.standardInput = FileHandle.nullDevice
        running.process.standardOutput = running.output
        running.process.standardError = running.errors
        try running.process.run()
        return running
    }
}
