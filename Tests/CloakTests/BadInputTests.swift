import Foundation
import CloakroomTestSupport
import Testing

/// One bad input: how the vault is damaged first (if at all), the command, and what the user
/// must see: the documented exit code and a message that says what to do. Afterwards the
/// vault must hold exactly what it held before.
struct BadInput: Sendable, CustomTestStringConvertible {
    var name: String
    var arguments: [String]
    var stdin: String? = nil
    var environment: [String: String] = [:]
    var status: Int32
    var message: String
    var prepare: @Sendable (Sandbox) throws -> Void = { _ in }

    var testDescription: String { name }
}

@Suite struct BadInputTests {
    static let cases: [BadInput] = [
        // 2: usage
        BadInput(name: "secret as an argument", arguments: ["client", "add", "--no-verify", "prod/new", "--client-id", "n", "--secret", "fake-in-argv"],
                 status: 2, message: "unknown option '--secret'"),
        BadInput(name: "empty secret on stdin", arguments: ["client", "add", "--no-verify", "prod/new", "--client-id", "n", "--secret-stdin"],
                 stdin: "", status: 2, message: "the client secret is empty"),
        BadInput(name: "two lines on stdin", arguments: ["client", "add", "--no-verify", "prod/new", "--client-id", "n", "--secret-stdin"],
                 stdin: "fake-one\nfake-two\n", status: 2, message: "control character"),
        BadInput(name: "no secret and no terminal", arguments: ["client", "add", "--no-verify", "prod/new", "--client-id", "n"],
                 status: 2, message: "--secret-stdin"),
        BadInput(name: "realm name outside the alphabet", arguments: ["realm", "add", "Prod", "--token-url", Sandbox.tokenURL],
                 status: 2, message: "realm name 'Prod' is not allowed"),
        BadInput(name: "client name outside the alphabet", arguments: ["client", "add", "--no-verify", "prod/-x", "--client-id", "n", "--secret-stdin"],
                 stdin: "fake", status: 2, message: "client name '-x' is not allowed"),
        BadInput(name: "plain http to a remote token URL", arguments: ["realm", "add", "dev", "--token-url", "http://idp.example.test/token"],
                 status: 2, message: "--allow-insecure-http"),
        BadInput(name: "realm without any URL", arguments: ["realm", "add", "dev"], status: 2, message: "--issuer URL or --token-url URL"),
        // 3: not found
        BadInput(name: "unknown client", arguments: ["client", "show", "prod/nope"], status: 3, message: "no client 'prod/nope'"),
        BadInput(name: "unknown realm", arguments: ["client", "list", "--realm", "nope"], status: 3, message: "no realm 'nope'"),
        BadInput(name: "no vault", arguments: ["client", "list"], environment: ["CLOAK_VAULT": "/nonexistent/vault.db"],
                 status: 3, message: "cloak init"),
        BadInput(name: "missing key file", arguments: ["realm", "remove", "prod"], environment: ["CLOAK_KEY_FILE": "/nonexistent/key"],
                 status: 3, message: "key file /nonexistent/key does not exist"),
        // 4: conflict
        BadInput(name: "duplicate realm", arguments: ["realm", "add", "prod", "--token-url", Sandbox.tokenURL], status: 4,
                 message: "a realm named 'prod' exists already"),
        BadInput(name: "duplicate client", arguments: ["client", "add", "--no-verify", "prod/orders", "--client-id", "x", "--secret-stdin"],
                 stdin: "fake-dup", status: 4, message: "a client 'prod/orders' exists already"),
        BadInput(name: "init over an existing vault", arguments: ["init"], status: 4, message: "exists at"),
        // 5: cannot unlock
        BadInput(name: "wrong key file", arguments: ["client", "remove", "prod/orders"], environment: ["CLOAK_KEY_FILE": "WRONG"],
                 status: 5, message: "cannot unlock the vault",
                 prepare: { sandbox in
                     try Data(repeating: 42, count: 32).write(to: URL(fileURLWithPath: sandbox.directory.file("wrong-key")))
                     chmod(sandbox.directory.file("wrong-key"), 0o600)
                 }),
        BadInput(name: "no key at all", arguments: ["client", "remove", "prod/orders"], environment: ["CLOAK_KEY_FILE": ""],
                 status: 5, message: "the vault"),
        // 6: corrupted
        BadInput(name: "flipped byte in a sealed secret, then rekey", arguments: ["rekey"], status: 6,
                 message: "the sealed secret of prod/orders (version 1) does not open",
                 prepare: { sandbox in
                     // Flip one bit of the 5th byte of orders' ciphertext.
                     let sql = "FROM secret_versions WHERE client_id = (SELECT id FROM clients WHERE name = 'orders')"
                     var bytes = Array(try RawVault.execute(sandbox.vault, "SELECT hex(sealed) \(sql)")[0].utf8)
                     bytes[9] = bytes[9] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
                     try RawVault.execute(sandbox.vault, "UPDATE secret_versions SET sealed = x'\(String(decoding: bytes, as: UTF8.self))' WHERE id = (SELECT id \(sql))")
                 }),
        BadInput(name: "token URL edited in the database, then a URL change through cloak",
                 arguments: ["realm", "update", "prod", "--token-url", "https://idp3.example.test/token"], status: 6,
                 message: "does not open",
                 prepare: { try RawVault.execute($0.vault, "UPDATE realms SET token_url = 'https://attacker.example.test/token'") }),
        // 7: incompatible
        BadInput(name: "not a vault", arguments: ["client", "list"], environment: ["CLOAK_VAULT": "NOTES"], status: 7,
                 message: "is not a Cloakroom vault",
                 prepare: { try "these are meeting notes, not a vault\n".write(toFile: $0.directory.file("notes"), atomically: true, encoding: .utf8) }),
        BadInput(name: "newer schema", arguments: ["client", "list"], status: 7, message: "written by a newer Cloakroom",
                 prepare: { try RawVault.execute($0.vault, "INSERT INTO schema_migrations VALUES (99, '0099_future.sql', 'x', 0)") }),
        // 8: filesystem
        BadInput(name: "key file readable by others", arguments: ["client", "remove", "prod/orders"], status: 8, message: "chmod 600",
                 prepare: { chmod($0.keyFile, 0o644) }),
        // 10: doctor found problems
        BadInput(name: "doctor on a tampered secret", arguments: ["doctor"], status: 10, message: "the vault has problems",
                 prepare: { try RawVault.execute($0.vault, "UPDATE clients SET client_id = 'other' WHERE name = 'billing'") }),
    ]

    @Test(arguments: cases)
    func badInputIsRefusedClearlyAndChangesNothing(_ bad: BadInput) throws {
        let sandbox = try Sandbox.populated()
        try bad.prepare(sandbox)
        var environment = bad.environment
        if environment["CLOAK_KEY_FILE"] == "WRONG" { environment["CLOAK_KEY_FILE"] = sandbox.directory.file("wrong-key") }
        if environment["CLOAK_VAULT"] == "NOTES" { environment["CLOAK_VAULT"] = sandbox.directory.file("notes") }
        let before = try sandbox.contents
        let notesBefore = try? Data(contentsOf: URL(fileURLWithPath: sandbox.directory.file("notes")))

        let outcome = try sandbox.run(bad.arguments, stdin: bad.stdin, environment: environment)

        #expect(outcome.status == bad.status, "\(outcome)")
        #expect(outcome.stderr.contains(bad.message), "\(outcome)")
        if bad.status != 10 { #expect(outcome.stdout.isEmpty, "stdout must be empty on failure: \(outcome)") }
        #expect(!outcome.stderr.contains("fake-") && !outcome.stdout.contains("fake-"), "a secret leaked: \(outcome)")
        #expect(try sandbox.contents == before, "the vault changed")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: sandbox.directory.file("notes")))) == notesBefore)
    }

    /// Exit 9: another process holds the write lock for longer than the busy timeout.
    @Test func vaultLockedByAnotherWriterIsReportedAsBusy() throws {
        let sandbox = try Sandbox.populated()
        let before = try sandbox.contents
        let outcome = try RawVault.holdingWriteLock(sandbox.vault) {
            try sandbox.run(["client", "remove", "prod/orders", "--yes"], environment: ["CLOAK_BUSY_TIMEOUT": "0.3"])
        }
        #expect(outcome.status == 9, "\(outcome)")
        #expect(outcome.stderr.contains("locked by another process"))
        #expect(try sandbox.contents == before)
    }

    /// Exit 8 for a directory the user may not write. Root may write anywhere, so the command
    /// runs as `nobody` when the tests run as root.
    @Test func vaultInAnUnwritableDirectoryIsRefused() throws {
        let sandbox = Sandbox()
        let locked = sandbox.directory.file("locked")
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o555])
        chmod(sandbox.directory.path, 0o755)
        let vault = locked + "/vault.db"
        let key = "/tmp/cloak-nobody-key-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: key) }
        let command = "exec \"$0\" init --vault \(vault) --key-file \(key)"
        let outcome = getuid() == 0
            ? try sandbox.run([], viaShell: "exec setpriv --reuid=65534 --regid=65534 --clear-groups sh -c '\(command)' \"$0\"")
            : try sandbox.run([], viaShell: command)
        #expect(outcome.status == 8, "\(outcome)")
        #expect(outcome.stderr.contains("not writable") || outcome.stderr.contains("Permission denied"), "\(outcome)")
        #expect(!FileManager.default.fileExists(atPath: vault))
        #expect(!FileManager.default.fileExists(atPath: key), "a key file for a vault that was not created was left behind")
    }

    /// Exit 6 for a damaged file, which is left byte for byte as it was.
    @Test(arguments: [100, 8192, 30_000])
    func truncatedVaultIsReportedAndLeftAlone(size: Int) throws {
        let sandbox = try Sandbox.populated()
        try RawVault.execute(sandbox.vault, "PRAGMA wal_checkpoint(TRUNCATE)")
        let url = URL(fileURLWithPath: sandbox.vault)
        let cut = try Data(contentsOf: url).prefix(size)
        try cut.write(to: url)
        let outcome = try sandbox.run(["client", "list"])
        #expect(outcome.status == 6 || (size < 100 && outcome.status == 7), "\(outcome)")
        #expect(outcome.stderr.contains("damaged") && outcome.stderr.contains("backup"), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
        #expect(try Data(contentsOf: url) == cut)
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("damaged"), "\(doctor)")
        #expect(try Data(contentsOf: url) == cut)
    }

    @Test func doctorReportsFilesOthersCanRead() throws {
        let sandbox = try Sandbox.populated()
        chmod(sandbox.vault, 0o644)
        chmod(sandbox.directory.file("vault"), 0o755)
        let outcome = try sandbox.run(["doctor", "--json"])
        #expect(outcome.status == 10, "\(outcome)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(report["healthy"] as? Bool == false)
        let findings = try #require(report["findings"] as? [[String: Any]])
        #expect(findings.contains { $0["severity"] as? String == "problem" && ($0["message"] as? String)?.contains("chmod 600 \(sandbox.vault)") == true })
        #expect(findings.contains { $0["severity"] as? String == "warning" && ($0["message"] as? String)?.contains("chmod 700") == true })
        chmod(sandbox.vault, 0o600)
        chmod(sandbox.directory.file("vault"), 0o700)
        try sandbox.ok("doctor")
    }
}
