import Foundation
import CloakroomTestSupport
import Testing

/// Issue 9's reproductions, each through the real binary: the documented exit code, a message
/// that says what to do, no control character echoed, and the vault exactly as it was.
@Suite struct HardeningTests {
    static let cases: [BadInput] = [
        // "Loopback" is an address or exactly `localhost`, never a prefix (item 3).
        BadInput(name: "a name that starts like 127.", arguments: ["realm", "add", "r9", "--token-url", "http://127.evil.example.com/token"],
                 status: 2, message: "--allow-insecure-http"),
        BadInput(name: "a loopback address as a subdomain", arguments: ["realm", "add", "r9", "--token-url", "http://127.0.0.1.evil.example.com/token"],
                 status: 2, message: "--allow-insecure-http"),
        BadInput(name: "localhost as a subdomain", arguments: ["realm", "add", "r9", "--token-url", "http://localhost.evil.example.com/token"],
                 status: 2, message: "--allow-insecure-http"),
        BadInput(name: "a URL with CR LF", arguments: ["realm", "add", "r9", "--token-url", "https://idp.example.test/token\r\nX-Injected: 1"],
                 status: 2, message: "control character"),
        BadInput(name: "a client_id with a C1 control (CSI)", arguments: ["client", "add", "--no-verify", "prod/c1", "--client-id", "a\u{9B}2Jb", "--secret-stdin"],
                 stdin: "fake-c1-secret", status: 2, message: "without control characters"),
        BadInput(name: "a URL with an escape sequence", arguments: ["realm", "add", "r9", "--token-url", "https://idp.example.test/\u{1B}[2Jtoken"],
                 status: 2, message: "control character"),
        BadInput(name: "a URL with a space", arguments: ["realm", "add", "r9", "--issuer", "https://idp.example.test/realms/a b"],
                 status: 2, message: "a space"),
        BadInput(name: "a percent-encoded loopback address", arguments: ["realm", "add", "r9", "--token-url", "http://127%2E0%2E0%2E1/token"],
                 status: 2, message: "percent-encoded host"),
        BadInput(name: "an escape sequence percent-encoded in the host", arguments: ["realm", "add", "r9", "--token-url", "https://idp%1B[2J.example.test/token"],
                 status: 2, message: "percent-encoded host"),
        BadInput(name: "port 0", arguments: ["realm", "add", "r9", "--token-url", "https://idp.example.test:0/token"],
                 status: 2, message: "from 1 to 65535"),
        BadInput(name: "port 70000", arguments: ["realm", "add", "r9", "--token-url", "https://idp.example.test:70000/token"],
                 status: 2, message: "65535"),

        // Numbers that used to crash converting to Int64 (item 5).
        BadInput(name: "CLOAK_DEADLINE=inf", arguments: ["token", "prod/orders"], environment: ["CLOAK_DEADLINE": "inf"],
                 status: 2, message: "CLOAK_DEADLINE must be a number of seconds from 0.001s to 1h"),
        BadInput(name: "CLOAK_DEADLINE=1e308", arguments: ["token", "prod/orders"], environment: ["CLOAK_DEADLINE": "1e308"],
                 status: 2, message: "CLOAK_DEADLINE must be from 0.001s to 1h"),
        BadInput(name: "CLOAK_DEADLINE that is not a number", arguments: ["token", "prod/orders"], environment: ["CLOAK_DEADLINE": "soon"],
                 status: 2, message: "CLOAK_DEADLINE must be a number of seconds"),
        BadInput(name: "CLOAK_BUSY_TIMEOUT=inf", arguments: ["client", "list"], environment: ["CLOAK_BUSY_TIMEOUT": "inf"],
                 status: 2, message: "CLOAK_BUSY_TIMEOUT must be a number of seconds from 0s to 1h"),
        BadInput(name: "--rotate-every 1e300w", arguments: ["client", "update", "prod/orders", "--rotate-every", "1e300w"],
                 status: 2, message: "--rotate-every must be from 1m to 36500d"),
        BadInput(name: "--rotate-every of twenty digits", arguments: ["client", "update", "prod/orders", "--rotate-every", "99999999999999999999d"],
                 status: 2, message: "--rotate-every must be from 1m to 36500d"),
        BadInput(name: "--keep-previous 1e300w", arguments: ["realm", "update", "prod", "--keep-previous", "1e300w"],
                 status: 2, message: "--keep-previous must be from 0s to 36500d"),
        BadInput(name: "log --since 1e300d", arguments: ["log", "--since", "1e300d"], status: 2, message: "--since must be from 0s to 36500d"),
        BadInput(name: "--min-ttl inf", arguments: ["token", "prod/orders", "--min-ttl", "inf"], status: 2, message: "--min-ttl must be from 0s to 36500d"),

        // Special files never block, and a key file must be one's own (item 6).
        BadInput(name: "a FIFO as key file", arguments: ["client", "remove", "prod/orders"], environment: ["CLOAK_KEY_FILE": "FIFO"],
                 status: 8, message: "is a FIFO (named pipe), not a regular file",
                 prepare: { _ = mkfifo($0.directory.file("fifo"), 0o600) }),
        BadInput(name: "a FIFO as bundle", arguments: ["import", "bundle", "FIFO", "--bundle-key-file", "KEY"],
                 status: 8, message: "is a FIFO (named pipe), not a regular file",
                 prepare: { _ = mkfifo($0.directory.file("fifo"), 0o600) }),
        BadInput(name: "a directory as key file", arguments: ["client", "remove", "prod/orders"], environment: ["CLOAK_KEY_FILE": "DIR"],
                 status: 8, message: "is a directory, not a regular file"),
        BadInput(name: "a key file owned by another user", arguments: ["client", "remove", "prod/orders"], status: 8,
                 message: "belongs to another user (uid 65534)",
                 prepare: { _ = chown($0.keyFile, 65534, 65534) }),

        // The name --format env prints into shell code (item 11).
        BadInput(name: "token --env-var with shell code", arguments: ["token", "prod/orders", "--format", "env", "--env-var", "X';touch /tmp/x;'"],
                 status: 2, message: "--env-var must be a variable name"),

        // Misleading messages (item 15).
        BadInput(name: "an audience with a newline", arguments: ["token", "prod/orders", "--audience", "api\nscope=admin"],
                 status: 2, message: "the audience must be non-empty and without control characters"),
        BadInput(name: "a scope with an escape sequence", arguments: ["token", "prod/orders", "--scope", "read\u{1B}[2J"],
                 status: 2, message: "is not a valid OAuth scope token"),
        BadInput(name: "a .env behind a symlink loop", arguments: ["import", "dotenv", "LOOP", "--as", "prod/loop"],
                 status: 8, message: "a symbolic link on the way loops",
                 prepare: { _ = symlink($0.directory.file("loop"), $0.directory.file("loop")) }),
    ]

    @Test(arguments: cases)
    func badInputIsRefusedClearlyAndChangesNothing(_ bad: BadInput) throws {
        let sandbox = try Sandbox.populated()
        try bad.prepare(sandbox)
        let placeholders = ["FIFO": "fifo", "DIR": "vault", "KEY": "key", "LOOP": "loop"]
        func resolve(_ text: String) -> String { placeholders[text].map { sandbox.directory.file($0) } ?? text }
        let environment = bad.environment.mapValues(resolve)
        let before = try sandbox.contents

        let outcome = try sandbox.run(bad.arguments.map(resolve), stdin: bad.stdin, environment: environment)

        #expect(outcome.status == bad.status, "\(outcome)")
        #expect(outcome.stderr.contains(bad.message), "\(outcome)")
        #expect(outcome.stdout.isEmpty, "stdout must be empty on failure: \(outcome)")
        #expect(!outcome.stderr.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "a control character reached the terminal: \(outcome)")
        #expect(!outcome.stderr.contains("fake-"), "a secret leaked: \(outcome)")
        #expect(try sandbox.contents == before, "the vault changed")
    }

    /// A cache hit takes a fast path without the argument parser; it refuses a setting out of
    /// range exactly as the full command does (CLOAK_DEADLINE=0 was served there, refused on a miss).
    @Test(arguments: ["0", "inf", "soon"])
    func cachedTokenRefusesAnOutOfRangeDeadlineToo(deadline: String) throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("token", "r1/basic")
        let outcome = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": deadline])
        #expect(outcome.status == 2 && outcome.stderr.contains("CLOAK_DEADLINE must be"), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
    }

    /// Item 4: sodium memory freed twice when reading the secret failed (SIGSEGV before).
    @Test(arguments: [
        ("client add prod/x --client-id x --secret-stdin < /", "standard input is a directory"),
        ("keyslot add --new-passphrase --new-passphrase-fd 99", "file descriptor 99 is not open"),
    ])
    func unreadableSecretInputIsAUsageErrorNotACrash(command: String, message: String) throws {
        let sandbox = try Sandbox.populated()
        let before = try sandbox.contents
        let outcome = try sandbox.run([], viaShell: "exec \"$0\" \(command)")
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.stderr.contains(message), "\(outcome)")
        #expect(try sandbox.contents == before)
    }

    /// Item 14: a vault on a read-only file system still lists clients and serves a cached token;
    /// a write fails with exit 8 and a message that says why. Needs root, for the mount.
    @Test(.enabled(if: getuid() == 0, "mounting a read-only file system needs root"))
    func readOnlyVaultServesReadsAndRefusesWrites() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let token = try sandbox.ok("token", "r1/basic").stdout
        // Between commands the WAL is checkpointed, but its files stay; a read-only copy is read as it is.
        let directory = sandbox.directory.file("vault")
        try #require(Mount.bindReadOnly(directory), "mount --bind and remount,ro failed")
        defer { Mount.unmount(directory) }
        #expect(access(sandbox.vault, W_OK) != 0, "the vault should be read-only now")

        let list = try sandbox.ok("client", "list")
        #expect(list.stdout.contains("basic"), "\(list)")
        #expect(try sandbox.ok("token", "r1/basic").stdout == token, "the cached token is served")
        #expect(try sandbox.ok("token", "r1/basic", "--format", "json").stdout.contains("cache"))
        try sandbox.ok("log")

        // A token that must come from the IdP is fetched and printed, but cannot be cached.
        let fetched = try sandbox.run(["token", "r1/post"])
        #expect(fetched.status == 0 && fetched.stdout.split(separator: ".").count == 3, "\(fetched)")
        #expect(fetched.stderr.contains("could not be cached"), "\(fetched)")

        let write = try sandbox.run(["client", "remove", "r1/post", "--yes"])
        #expect(write.status == 8, "\(write)")
        #expect(write.stderr.contains("Commands that only read work on a read-only vault"), "\(write)")
    }

    /// A vault on a read-only mount is opened immutable: it sees nothing another process commits
    /// after it opened, so waiting for a writer's fetch could not show it that token. Its token
    /// lock holds nothing: it fetches at once (and cannot cache), while the writer still waits on
    /// the IdP — and the writer's fetch is not disturbed.
    @Test(.enabled(if: getuid() == 0, "mounting a read-only file system needs root"))
    func aReadOnlyMountDoesNotWaitForAWritersFetch() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("token", "r1/basic")  // makes the lock file
        let directory = sandbox.directory.file("vault"), view = sandbox.directory.file("view")
        try FileManager.default.createDirectory(atPath: view, withIntermediateDirectories: false)
        try #require(Mount.bindReadOnly(directory, at: view), "mount --bind and remount,ro failed")
        defer { Mount.unmount(view) }
        try await idp.fault(#"{"fault":"latency","delay_ms":3000,"route":"token","client_id":"post-svc","count":1}"#)

        let writer = try sandbox.start(["token", "r1/post"])
        for _ in 0..<500 where try await idp.arrivals("token") < 2 { try await Task.sleep(for: .milliseconds(20)) }
        try #require(try await idp.arrivals("token") == 2, "the writer's request did not arrive")
        let (reader, json) = try sandbox.tokenJSON("r1/post", environment: ["CLOAK_VAULT": view + "/vault.db"])
        #expect(writer.process.isRunning, "the reader waited for the writer's lock")
        #expect(reader.status == 0 && json["source"] as? String == "idp", "\(reader)")
        #expect(reader.stderr.contains("could not be cached"), "\(reader)")
        let written = writer.wait()
        #expect(written.status == 0 && written.stdout.split(separator: ".").count == 3, "\(written)")
    }
}

/// A read-only bind mount of a test's own directory over itself (or at `view`), and its removal.
enum Mount {
    static func bindReadOnly(_ directory: String, at view: String? = nil) -> Bool {
        let view = view ?? directory
        return run(["mount", "--bind", directory, view]) && (run(["mount", "-o", "remount,ro,bind", view]) || { unmount(view); return false }())
    }

    static func unmount(_ directory: String) { _ = run(["umount", directory]) }

    static func run(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }
}
