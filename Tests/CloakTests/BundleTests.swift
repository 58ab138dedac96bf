import Foundation
import CloakroomTestSupport
import Testing

/// `cloak export` and `cloak import bundle` through the real binary, between real vault files.
@Suite struct BundleTests {
    /// A vault with `prod/orders` and `prod/billing`, exported with a bundle key file.
    struct Exported {
        let source: Sandbox
        var bundle: String { source.directory.file("prod.bundle") }
        var bundleKey: String { source.directory.file("bundle.key") }
        var bytes: [UInt8] { get throws { [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle))) } }

        init(_ extra: [String] = []) throws {
            source = try Sandbox.populated()
            let outcome = try source.run(["export", bundle, "--bundle-key-file", bundleKey] + extra)
            #expect(outcome.status == 0, "\(outcome)")
            #expect(outcome.stdout.isEmpty && !outcome.stderr.contains("fake-"), "\(outcome)")
        }
    }

    /// A second, empty vault.
    static func target() throws -> Sandbox {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        return sandbox
    }

    func importing(_ exported: Exported, into target: Sandbox, _ extra: [String] = []) throws -> Outcome {
        try target.run(["import", "bundle", exported.bundle, "--bundle-key-file", exported.bundleKey] + extra)
    }

    func json(_ outcome: Outcome) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any], "\(outcome)")
    }

    func actions(_ outcome: Outcome) throws -> [String: String] {
        let clients = try #require(try json(outcome)["clients"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: clients.map { ($0["client"] as! String, ($0["action"] as! String) + " " + (($0["imported_as"] as? String) ?? "-")) })
    }

    /// No fake secret in the command's output.
    func expectNoSecret(_ outcome: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!outcome.stdout.contains("fake-") && !outcome.stderr.contains("fake-"), "a secret leaked: \(outcome)", sourceLocation: sourceLocation)
    }

    @Test func bundleMovesRealmsAndClientsToAnotherVault() throws {
        let exported = try Exported()
        let bytes = try exported.bytes
        #expect(try exported.source.mode(of: exported.bundle) & 0o777 == 0o600)
        #expect(Array(bytes.prefix(8)) == Array("CLOAKBDL".utf8))
        for clear in [Sandbox.ordersSecret, Sandbox.billingSecret, "orders-svc", "idp.example.test"] {
            #expect(bytes.firstRange(of: Array(clear.utf8)) == nil, "\(clear) is in the bundle in clear")
        }
        let target = try Self.target()
        let outcome = try importing(exported, into: target, ["--json"])
        #expect(outcome.status == 0, "\(outcome)")
        expectNoSecret(outcome)
        #expect(try actions(outcome) == ["prod/billing": "added prod/billing", "prod/orders": "added prod/orders"])
        let billing = try json(try target.ok("client", "show", "prod/billing", "--json"))
        #expect(billing["client_id"] as? String == "billing-svc" && billing["auth_method"] as? String == "client_secret_post")
        #expect(billing["secret_version"] as? Int == 1)
        let realm = try json(try target.ok("realm", "show", "prod", "--json"))
        #expect(realm["token_url"] as? String == Sandbox.tokenURL)
        // Every secret opens under the new vault's key, bound to its new rows.
        try target.ok("doctor")
        let log = try target.ok("log", "--json").stdout
        #expect(log.components(separatedBy: "\"import\"").count - 1 == 4, "one event per client and realm, and one for the import: \(log)")
        #expect(!log.contains("fake-"))
    }

    @Test func importOfTheSameBundleAgainChangesNoClient() throws {
        let exported = try Exported()
        let target = try Self.target()
        #expect(try importing(exported, into: target).status == 0)
        let before = try RawVault.execute(target.vault, "SELECT group_concat(id || state || hex(sealed)) FROM secret_versions")
        let again = try importing(exported, into: target, ["--json"])
        #expect(again.status == 0, "\(again)")
        #expect(try actions(again) == ["prod/billing": "unchanged prod/billing", "prod/orders": "unchanged prod/orders"])
        #expect(try RawVault.execute(target.vault, "SELECT group_concat(id || state || hex(sealed)) FROM secret_versions") == before)
    }

    @Test func realmOptionExportsOnlyThoseRealms() throws {
        let source = try Sandbox.populated()
        try source.ok("realm", "add", "dev", "--token-url", "https://dev.example.test/token")
        try source.ok("client", "add", "--no-verify", "dev/tool", "--client-id", "tool", "--secret-stdin", stdin: "fake-dev-tool")
        let bundle = source.directory.file("dev.bundle")
        try source.ok("export", bundle, "--realm", "dev", "--bundle-key-file", source.directory.file("k"))
        let target = try Self.target()
        let outcome = try target.run(["import", "bundle", bundle, "--bundle-key-file", source.directory.file("k")])
        #expect(outcome.status == 0, "\(outcome)")
        let list = try target.ok("client", "list").stdout
        #expect(list.contains("dev/tool") && !list.contains("prod/"), "\(list)")
        #expect(try source.run(["export", source.directory.file("x"), "--realm", "nope", "--bundle-key-file", source.directory.file("k")]).status == 3)
        // Secrets left the vault: the audit log says which, and where to.
        let log = try source.ok("log", "--json")
        let exports = ((try JSONSerialization.jsonObject(with: Data(log.stdout.utf8)) as? [[String: Any]]) ?? [])
            .filter { $0["action"] as? String == "export" }
        #expect(exports.count == 2, "\(log)")
        #expect(exports.contains { ($0["client"] as? String) == "dev/tool" && ($0["detail"] as? String)?.contains("dev.bundle") == true }, "\(exports)")
        #expect(!log.stdout.contains("fake-dev-tool"))
    }

    /// A target holding `prod/orders` with another secret (same IdP) and nothing else.
    static func conflictingTarget() throws -> Sandbox {
        let target = try target()
        try target.ok("realm", "add", "prod", "--token-url", Sandbox.tokenURL)
        try target.ok("client", "add", "--no-verify", "prod/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: "fake-other-orders")
        return target
    }

    @Test func sameNamesAreRefusedByDefaultAndNothingIsImported() throws {
        let exported = try Exported()
        let target = try Self.conflictingTarget()
        let before = try target.contents
        let outcome = try importing(exported, into: target)
        #expect(outcome.status == 4, "\(outcome)")
        #expect(outcome.stderr.contains("prod/orders exists with another secret") && outcome.stderr.contains("--on-conflict"), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
        expectNoSecret(outcome)
        #expect(try target.contents == before, "a refused import changed the vault")
    }

    /// The bundle imported into `conflictingTarget()` with `--on-conflict mode`: the target and
    /// each client's action.
    func importIntoConflictingTarget(_ mode: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> (Sandbox, [String: String]) {
        let target = try Self.conflictingTarget()
        let outcome = try importing(try Exported(), into: target, ["--on-conflict", mode, "--json"])
        #expect(outcome.status == 0, "\(outcome)", sourceLocation: sourceLocation)
        return (target, try actions(outcome))
    }

    @Test func skipKeepsThisVaultsClient() throws {
        let (target, actions) = try importIntoConflictingTarget("skip")
        #expect(actions == ["prod/billing": "added prod/billing", "prod/orders": "skipped -"])
        #expect(try json(try target.ok("client", "show", "prod/orders", "--json"))["secret_version"] as? Int == 1)
    }

    @Test func overwriteMakesTheBundlesSecretCurrentAndKeepsTheOldAsPrevious() throws {
        let (target, actions) = try importIntoConflictingTarget("overwrite")
        #expect(actions["prod/orders"] == "overwritten prod/orders")
        #expect(try json(try target.ok("client", "show", "prod/orders", "--json"))["secret_version"] as? Int == 2)
        #expect(try RawVault.execute(target.vault, "SELECT group_concat(version || state) FROM secret_versions WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')") == ["1previous,2current"])
        try target.ok("doctor")
    }

    @Test func renameImportsUnderTheNextFreeName() throws {
        let (target, actions) = try importIntoConflictingTarget("rename")
        #expect(actions == ["prod/billing": "added prod/billing", "prod/orders": "renamed prod/orders-2"])
        #expect(try json(try target.ok("client", "show", "prod/orders-2", "--json"))["client_id"] as? String == "orders-svc")
    }

    /// A realm of the same name for another IdP: refused, skipped whole, or renamed — never overwritten.
    @Test func realmForAnotherIdentityProviderIsAConflict() throws {
        let exported = try Exported()
        let target = try Self.target()
        try target.ok("realm", "add", "prod", "--token-url", "https://other-idp.example.test/token")
        let before = try target.contents
        for mode in [[], ["--on-conflict", "overwrite"]] {
            let refused = try importing(exported, into: target, mode)
            #expect(refused.status == 4 && refused.stderr.contains("sends secrets to https://other-idp.example.test/token"), "\(refused)")
            #expect(try target.contents == before)
        }
        let skipped = try importing(exported, into: target, ["--on-conflict", "skip", "--json"])
        #expect(try actions(skipped) == ["prod/billing": "skipped -", "prod/orders": "skipped -"], "\(skipped)")
        let renamed = try importing(exported, into: target, ["--on-conflict", "rename", "--json"])
        #expect(try actions(renamed) == ["prod/billing": "renamed prod-2/billing", "prod/orders": "renamed prod-2/orders"], "\(renamed)")
        #expect(try json(try target.ok("realm", "show", "prod-2", "--json"))["token_url"] as? String == Sandbox.tokenURL)
        try target.ok("doctor")
    }

    // MARK: Bad bundles: each refused with its exit code, and the vault unchanged

    /// Imports `bytes` as a bundle into a vault that already has content; checks the exit code,
    /// the message, empty stdout, no secret, and that the vault did not change.
    func expectRefused(_ bytes: [UInt8], _ exported: Exported, status: Int32, message: String, key: [String]? = nil,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let target = try Self.conflictingTarget()
        let file = target.directory.file("bad.bundle")
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        let before = try target.contents
        let outcome = try target.run(["import", "bundle", file, "--on-conflict", "overwrite"] + (key ?? ["--bundle-key-file", exported.bundleKey]))
        #expect(outcome.status == status, "\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.stderr.contains(message), "\(outcome)", sourceLocation: sourceLocation)
        #expect(outcome.stdout.isEmpty, sourceLocation: sourceLocation)
        expectNoSecret(outcome, sourceLocation: sourceLocation)
        #expect(try target.contents == before, "a refused import changed the vault", sourceLocation: sourceLocation)
    }

    /// Key-file bundle regions: magic 0–7, version 8–9, kind 10, fingerprint 11–18, nonce 19–42,
    /// ciphertext 43…, tag the 16 bytes before the checksum, checksum the last 32.
    enum Region: String, CaseIterable { case magic, version, kind, fingerprint, nonce, ciphertext, tag, checksum }

    func offset(of region: Region, in bytes: [UInt8]) -> Int {
        switch region {
        case .magic: 3
        case .version: 9
        case .kind: 10
        case .fingerprint: 14
        case .nonce: 30
        case .ciphertext: 60
        case .tag: bytes.count - 32 - 5
        case .checksum: bytes.count - 1
        }
    }

    @Test(arguments: Region.allCases)
    func flippedByteIsRefusedAsDamaged(_ region: Region) throws {
        let exported = try Exported()
        var bytes = try exported.bytes
        bytes[offset(of: region, in: bytes)] ^= 0x01
        if region == .magic {
            try expectRefused(bytes, exported, status: 7, message: "is not a Cloakroom bundle")
        } else {
            try expectRefused(bytes, exported, status: 6, message: "is damaged: its checksum does not match")
        }
    }

    /// The same flips by someone who also recomputes the checksum: the seal still refuses them.
    @Test(arguments: [Region.nonce, .ciphertext, .tag, .fingerprint, .kind])
    func deliberateChangeIsRefusedByTheSeal(_ region: Region) throws {
        let exported = try Exported()
        var bytes = try exported.bytes
        bytes[offset(of: region, in: bytes)] ^= 0x01
        let resealed = try Self.withChecksum(Array(bytes.dropLast(32)))
        switch region {
        case .fingerprint: try expectRefused(resealed, exported, status: 5, message: "does not open the bundle")
        case .kind: try expectRefused(resealed, exported, status: 6, message: "key kind 3 is unknown")
        default: try expectRefused(resealed, exported, status: 6, message: "was altered")
        }
    }

    @Test(arguments: [0, 5, 12, 60, -33, -1])
    func truncatedBundleIsRefused(_ cut: Int) throws {
        let exported = try Exported()
        let bytes = try exported.bytes
        try expectRefused(Array(bytes.prefix(cut >= 0 ? cut : bytes.count + cut)), exported, status: 6, message: "damaged")
    }

    @Test func bundleFromANewerFormatIsRefused() throws {
        let exported = try Exported()
        var bytes = try exported.bytes
        bytes[9] = 2
        try expectRefused(try Self.withChecksum(Array(bytes.dropLast(32))), exported, status: 7,
                          message: "was written by a newer Cloakroom (bundle format 2")
    }

    @Test func fileThatIsNoBundleIsRefused() throws {
        let exported = try Exported()
        try expectRefused(Array("API_KEY=fake-notes\n".utf8), exported, status: 7, message: "is not a Cloakroom bundle")
    }

    @Test func wrongKeyFileIsRefused() throws {
        let exported = try Exported()
        let other = exported.source.directory.file("other.key")
        try exported.source.ok("keyslot", "add", "--new-key-file", other)  // any 32-byte key file
        try expectRefused(try exported.bytes, exported, status: 5, message: "does not open the bundle", key: ["--bundle-key-file", other])
        try expectRefused(try exported.bytes, exported, status: 5, message: "sealed with a key file (fingerprint", key: [])
    }

    @Test func passphraseBundleOpensOnlyWithItsPassphrase() throws {
        let source = try Sandbox.populated()
        let passphrase = source.directory.file("passphrase")
        try "correct horse battery".write(toFile: passphrase, atomically: true, encoding: .utf8)
        let bundle = source.directory.file("p.bundle")
        let exported = try source.run([], viaShell: "exec \"$0\" export '\(bundle)' --bundle-passphrase-fd 3 --kdf interactive 3<'\(passphrase)'")
        #expect(exported.status == 0, "\(exported)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: bundle)))
        #expect(bytes[10] == 1)

        let target = try Self.conflictingTarget()
        let before = try target.contents
        let wrong = target.directory.file("wrong")
        try "wrong horse battery".write(toFile: wrong, atomically: true, encoding: .utf8)
        let refused = try target.run([], viaShell: "exec \"$0\" import bundle '\(bundle)' --on-conflict skip --bundle-passphrase-fd 3 3<'\(wrong)'")
        #expect(refused.status == 5 && refused.stderr.contains("the passphrase does not open the bundle"), "\(refused)")
        let noKey = try target.run(["import", "bundle", bundle, "--on-conflict", "skip"])
        #expect(noKey.status == 5 && noKey.stderr.contains("sealed with a passphrase"), "\(noKey)")
        let keyFile = try target.run(["import", "bundle", bundle, "--on-conflict", "skip", "--bundle-key-file", target.keyFile])
        #expect(keyFile.status == 5 && keyFile.stderr.contains("sealed with a passphrase, not a key file"), "\(keyFile)")
        #expect(try target.contents == before)

        let imported = try target.run([], viaShell: "exec \"$0\" import bundle '\(bundle)' --on-conflict skip --bundle-passphrase-fd 3 3<'\(passphrase)'")
        #expect(imported.status == 0 && imported.stderr.contains("1 added, 1 skipped"), "\(imported)")
    }

    @Test func exportRefusesToReplaceAFileOrToGoWithoutABundleKey() throws {
        let source = try Sandbox.populated()
        let existing = source.directory.file("notes.txt")
        try "keep me".write(toFile: existing, atomically: true, encoding: .utf8)
        let refused = try source.run(["export", existing, "--bundle-key-file", source.directory.file("k")])
        #expect(refused.status == 4 && refused.stderr.contains("--force"), "\(refused)")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
        let noKey = try source.run(["export", source.directory.file("b")])
        #expect(noKey.status == 2 && noKey.stderr.contains("--bundle-key-file"), "\(noKey)")
        #expect(!FileManager.default.fileExists(atPath: source.directory.file("b")))
        let before = try source.contents
        let overVault = try source.run(["export", source.vault, "--bundle-key-file", source.directory.file("k"), "--force"])
        #expect(overVault.status == 4 && overVault.stderr.contains("is an SQLite database"), "\(overVault)")
        #expect(try source.contents == before)
        try source.ok("export", existing, "--bundle-key-file", source.directory.file("k"), "--force")
        #expect(try source.mode(of: existing) & 0o777 == 0o600)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: source.directory.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty, "temporary files left: \(leftovers)")
    }

    /// `bytes` followed by their BLAKE2b-256, as coreutils' b2sum computes it: what someone
    /// changing a bundle on purpose would do to get past the checksum.
    static func withChecksum(_ bytes: [UInt8]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/b2sum")
        process.arguments = ["-l", "256"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(bytes))
        try input.fileHandleForWriting.close()
        let hex = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).prefix(64)
        process.waitUntilExit()
        var digest: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            digest.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        #expect(digest.count == 32)
        return bytes + digest
    }
}

extension TerminalTests {
    /// On a terminal, `--bundle-passphrase` asks twice on export, and import asks once — never echoed.
    @Test func bundlePassphraseIsTypedTwiceOnExportAndOnceOnImport() throws {
        let source = try Sandbox.populated()
        let phrase = "fake-bundle-passphrase-7"
        let bundle = source.directory.file("typed.bundle")
        let exported = try onTerminal(source, ["export", bundle, "--bundle-passphrase", "--kdf", "interactive"],
                                      answers: [("Passphrase for the bundle: ", phrase), ("Type it again: ", phrase)])
        #expect(exported.status == 0, "\(exported.screen)")
        #expect(!exported.screen.contains(phrase), "the passphrase was echoed: \(exported.screen)")
        let target = Sandbox()
        try target.ok("init")
        let imported = try onTerminal(target, ["import", "bundle", bundle], answers: [("Passphrase for the bundle", phrase)])
        #expect(imported.status == 0 && imported.screen.contains("2 added"), "\(imported.screen)")
        #expect(!imported.screen.contains(phrase) && !imported.screen.contains("fake-orders"), "\(imported.screen)")
    }
}
