import Foundation
import CloakroomTestSupport
import Testing

/// `kill -9` in the middle of the commands that write the most: import, export, rekey, keyslot
/// add and realm sync. However late the kill lands, the vault opens, `cloak doctor` calls it
/// healthy, and it holds the state from before the command or the one after, never a mix; the
/// command then runs to its end when asked again.
@Suite(.serialized) struct KillTests {
    /// Milliseconds after the start at which each run is killed: from before the vault is opened
    /// to well into the transaction (a debug build on a loaded machine is slow).
    static let delays = [40, 120, 250, 400, 650, 1000, 1600]
    static let clients = 1500

    /// A vault of `clients` clients in 15 realms, made once and copied for each test.
    static let fixture: Sandbox = {
        let sandbox = Sandbox()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: IdP.productsDirectory + "/cloak-bench-fixture")
        process.arguments = [sandbox.vault, sandbox.keyFile, String(clients), "15"]
        try! process.run()
        process.waitUntilExit()
        precondition(process.terminationStatus == 0, "cloak-bench-fixture failed; build it with `swift build`")
        return sandbox
    }()

    /// A copy of the fixture vault (between commands `vault.db` alone is a complete copy).
    static func copyOfFixture() throws -> Sandbox {
        let sandbox = Sandbox()
        try FileManager.default.createDirectory(atPath: sandbox.directory.file("vault"), withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        try FileManager.default.copyItem(atPath: fixture.vault, toPath: sandbox.vault)
        try FileManager.default.copyItem(atPath: fixture.keyFile, toPath: sandbox.keyFile)
        return sandbox
    }

    /// Starts `arguments`, kills it with SIGKILL after `milliseconds` unless it ended first.
    /// Returns whether the kill landed.
    static func killed(_ sandbox: Sandbox, _ arguments: [String], after milliseconds: Int, viaShell: String? = nil) throws -> Bool {
        let running = try sandbox.start(arguments, viaShell: viaShell)
        usleep(useconds_t(milliseconds * 1000))
        if running.process.isRunning { kill(running.process.processIdentifier, SIGKILL) }
        let outcome = running.wait()
        #expect(!outcome.stdout.contains("fake-") && !outcome.stderr.contains("fake-"), "a secret leaked: \(outcome)")
        return running.process.terminationReason == .uncaughtSignal
    }

    static func clientCount(_ sandbox: Sandbox) throws -> Int {
        let list = try sandbox.ok("client", "list", "--json").stdout
        return (try JSONSerialization.jsonObject(with: Data(list.utf8)) as? [Any])?.count ?? -1
    }

    /// The vault is whole: doctor is happy, and every sealed secret opens (an export needs them all).
    static func expectWhole(_ sandbox: Sandbox, clients expected: Set<Int>, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 0, "\(doctor)", sourceLocation: sourceLocation)
        #expect(expected.contains(try clientCount(sandbox)), sourceLocation: sourceLocation)
        let check = sandbox.directory.file("check-\(UUID().uuidString).bundle")
        let export = try sandbox.run(["export", check, "--bundle-key-file", sandbox.directory.file("check.key")])
        #expect(export.status == 0, "every secret must still open: \(export)", sourceLocation: sourceLocation)
        try? FileManager.default.removeItem(atPath: check)
    }

    @Test func importKilledAnywhereImportsAllOrNothing() throws {
        let source = try Self.copyOfFixture()
        let bundle = source.directory.file("all.bundle"), bundleKey = source.directory.file("bundle.key")
        try source.ok("export", bundle, "--bundle-key-file", bundleKey)
        var landed = 0
        for delay in Self.delays {
            let target = Sandbox()
            try target.ok("init")
            if try Self.killed(target, ["import", "bundle", bundle, "--bundle-key-file", bundleKey], after: delay) { landed += 1 }
            try Self.expectWhole(target, clients: [0, Self.clients])
            if try Self.clientCount(target) == 0 {
                try target.ok("import", "bundle", bundle, "--bundle-key-file", bundleKey)
            }
            #expect(try Self.clientCount(target) == Self.clients)
        }
        #expect(landed > 0, "no kill landed while the import ran")
    }

    @Test func exportKilledAnywhereLeavesNoBundleOrAWholeOne() throws {
        let source = try Self.copyOfFixture()
        let bundleKey = source.directory.file("bundle.key")
        try source.ok("export", source.directory.file("first.bundle"), "--bundle-key-file", bundleKey)
        var landed = 0
        for delay in Self.delays {
            let bundle = source.directory.file("killed-\(delay).bundle")
            if try Self.killed(source, ["export", bundle, "--bundle-key-file", bundleKey], after: delay) { landed += 1 }
            if FileManager.default.fileExists(atPath: bundle) {
                let target = Sandbox()
                try target.ok("init")
                try target.ok("import", "bundle", bundle, "--bundle-key-file", bundleKey)
                #expect(try Self.clientCount(target) == Self.clients)
            }
        }
        try Self.expectWhole(source, clients: [Self.clients])
        #expect(landed > 0, "no kill landed while the export ran")
    }

    @Test func rekeyKilledAnywhereLeavesOneKeyThatOpensEverything() throws {
        let sandbox = try Self.copyOfFixture()
        var landed = 0
        for delay in Self.delays {
            if try Self.killed(sandbox, ["rekey"], after: delay) { landed += 1 }
            try Self.expectWhole(sandbox, clients: [Self.clients])
        }
        try sandbox.ok("rekey")
        try Self.expectWhole(sandbox, clients: [Self.clients])
        #expect(landed > 0, "no kill landed while rekey ran")
    }

    @Test func keyslotAddKilledAnywhereAddsAWholeSlotOrNone() throws {
        let sandbox = try Self.copyOfFixture()
        let passphrase = sandbox.directory.file("passphrase")
        try "fake correct horse battery staple\n".write(toFile: passphrase, atomically: true, encoding: .utf8)
        var landed = 0
        for delay in Self.delays {
            let before = try sandbox.ok("keyslot", "list", "--json").stdout
            let command = "exec \"$0\" keyslot add --new-passphrase --new-passphrase-fd 3 --kdf interactive 3<\(passphrase)"
            if try Self.killed(sandbox, [], after: delay, viaShell: command) { landed += 1 }
            try Self.expectWhole(sandbox, clients: [Self.clients])
            let after = try sandbox.ok("keyslot", "list", "--json").stdout
            let slots = { (text: String) in (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [Any])?.count ?? -1 }
            #expect([slots(before), slots(before) + 1].contains(slots(after)))
        }
        // A slot that was added opens the vault, and every secret in it, with the passphrase alone.
        let export = "exec \"$0\" export \(sandbox.directory.file("p.bundle")) --bundle-key-file \(sandbox.directory.file("p.key")) --passphrase-fd 3 3<\(passphrase)"
        let unlocked = try sandbox.run([], environment: ["CLOAK_KEY_FILE": ""], viaShell: export)
        #expect(unlocked.status == 0, "\(unlocked)")
        #expect(landed > 0, "no kill landed while keyslot add ran")
    }

    /// A realm with many confidential clients at cloak-idp, synced into the vault.
    @Test func realmSyncKilledAnywhereLeavesWholeClients() async throws {
        let count = 300
        let clients = (0..<count).map { #"{"clientId":"svc-\#($0)","secret":"fake-sync-\#($0)"}"# }.joined(separator: ",")
        let configuration = """
            {"realms":[{"realm":"r1","clients":[\(clients),
              {"clientId":"rot-admin","secret":"\(RotationTests.adminSecret)","serviceAccountRoles":{"clients":{"realm-management":["manage-clients"]}}}]}]}
            """
        let idp = try IdP(configuration: configuration)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.baseURL + "/realms/r1/protocol/openid-connect/token"])
        try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "r1/admin", "--client-id", "rot-admin", "--secret-stdin"], stdin: RotationTests.adminSecret)
        try sandbox.ok("realm", "update", "r1", "--admin-client", "r1/admin")
        var landed = 0
        for delay in Self.delays {
            if try Self.killed(sandbox, ["realm", "sync", "r1", "--match", "svc-*"], after: delay) { landed += 1 }
            try Self.expectWhole(sandbox, clients: Set(1...(count + 1)))
        }
        try sandbox.ok("realm", "sync", "r1", "--match", "svc-*")
        try Self.expectWhole(sandbox, clients: [count + 1])
        #expect(try sandbox.tokenJSON("r1/svc-7").0.status == 0, "a synced secret works")
        #expect(landed > 0, "no kill landed while realm sync ran")
    }
}
