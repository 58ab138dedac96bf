import Foundation
import CloakroomTestSupport
import Testing

@Suite struct WalkThroughTests {
    @Test func initMakesAPrivateVaultAndKeyFile() throws {
        let sandbox = Sandbox()
        let outcome = try sandbox.ok("init")
        #expect(outcome.stdout.isEmpty)
        #expect(outcome.stderr.contains("created vault \(sandbox.vault)"))
        #expect(outcome.stderr.contains("created key file \(sandbox.keyFile)"))
        #expect(try sandbox.mode(of: sandbox.vault) == 0o600)
        #expect(try sandbox.mode(of: sandbox.directory.file("vault")) == 0o700)
        #expect(try sandbox.mode(of: sandbox.keyFile) == 0o600)
        #expect(try Data(contentsOf: URL(fileURLWithPath: sandbox.keyFile)).count == 32)
    }

    @Test func initWithoutAnUnlockMethodIsAUsageError() throws {
        let sandbox = Sandbox()
        let outcome = try sandbox.run(["init"], environment: ["CLOAK_KEY_FILE": ""])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.stderr.contains("--key-file PATH") && outcome.stderr.contains("--passphrase"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.vault))
    }

    @Test func realmsAndClientsListAndShow() throws {
        let sandbox = try Sandbox.populated()
        let list = try sandbox.ok("client", "list")
        #expect(list.stdout == """
            CLIENT        CLIENT ID    AUTH   SECRET
            prod/billing  billing-svc  post   v1
            prod/orders   orders-svc   basic  v1

            """)
        let json = try sandbox.ok("client", "show", "prod/orders", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["client"] as? String == "prod/orders")
        #expect(object["client_id"] as? String == "orders-svc")
        #expect(object["auth_method"] as? String == "client_secret_basic")
        #expect(object["secret_version"] as? Int == 1)
        #expect((object["created_at"] as? String)?.hasSuffix("Z") == true)
        #expect(Set(object.keys) == ["client", "realm", "name", "client_id", "auth_method", "scopes", "audience",
                                      "secret_version", "secret_updated_at", "rotate_every_seconds", "created_at", "updated_at"])

        let realms = try sandbox.ok("realm", "list", "--json")
        let array = try #require(try JSONSerialization.jsonObject(with: Data(realms.stdout.utf8)) as? [[String: Any]])
        #expect(array.count == 1)
        #expect(array.first?["token_url"] as? String == Sandbox.tokenURL)
        #expect(array.first?["admin_url"] as? String == "https://idp.example.test/admin/realms/prod")
        #expect(array.first?["clients"] as? Int == 2)

        let show = try sandbox.ok("realm", "show", "prod")
        #expect(show.stdout.contains("admin url      https://idp.example.test/admin/realms/prod"))
        #expect(try sandbox.ok("client", "list", "--realm", "prod", "--json").stdout.contains("prod/billing"))
    }

    @Test func jsonOutputEscapesEverythingItPrints() throws {
        let sandbox = try Sandbox.populated()
        let awkward = "id \"quoted\" back\\slash ünïcødé ☃"
        try sandbox.ok("client", "add", "--no-verify", "prod/odd", "--client-id", awkward, "--audience", "aud/\u{2028}x", "--secret-stdin", stdin: "fake-odd")
        let json = try sandbox.ok("client", "show", "prod/odd", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["client_id"] as? String == awkward)
        #expect(object["audience"] as? String == "aud/\u{2028}x")
        #expect(json.stdout.hasPrefix("{\n  \"client\": \"prod/odd\",\n"))  // keys in their documented order
    }

    @Test func secretsNeverLeaveTheVaultInClear() throws {
        let sandbox = try Sandbox.populated()
        var outputs: [Outcome] = []
        for command in [["client", "list"], ["client", "list", "--json"], ["client", "show", "prod/orders"],
                        ["client", "show", "prod/orders", "--json"], ["realm", "show", "prod", "--json"], ["doctor"],
                        ["doctor", "--json"], ["keyslot", "list", "--json"], ["client", "show", "prod/orders", "--debug"]] {
            outputs.append(try sandbox.run(command))
        }
        for outcome in outputs {
            #expect(!outcome.stdout.contains("fake-") && !outcome.stderr.contains("fake-"), "\(outcome)")
        }
        for file in [sandbox.vault, sandbox.vault + "-wal"] where FileManager.default.fileExists(atPath: file) {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(Sandbox.ordersSecret.utf8)) == nil, "plaintext secret in \(file)")
            #expect(bytes.range(of: Data("fake-".utf8)) == nil)
        }
    }

    @Test func doctorReportsAHealthyVault() throws {
        let sandbox = try Sandbox.populated()
        let outcome = try sandbox.ok("doctor")
        #expect(outcome.stdout.contains("all 2 sealed secret(s) open with the vault key"))
        #expect(outcome.stdout.contains("SQLite integrity check passed"))
        #expect(outcome.stderr.contains("the vault is healthy"))
    }

    @Test func passphraseFromAFileDescriptorUnlocks() throws {
        let sandbox = Sandbox()
        let phrase = sandbox.directory.file("phrase")
        try "correct horse battery staple\n".write(toFile: phrase, atomically: true, encoding: .utf8)
        let none = ["CLOAK_KEY_FILE": ""]
        var outcome = try sandbox.run([], environment: none, viaShell: "exec \"$0\" init --passphrase --kdf interactive --passphrase-fd 3 3<\(phrase)")
        #expect(outcome.status == 0, "\(outcome)")
        outcome = try sandbox.run([], environment: none, viaShell: "exec \"$0\" realm add prod --token-url \(Sandbox.tokenURL) --passphrase-fd 3 3<\(phrase)")
        #expect(outcome.status == 0, "\(outcome)")
        outcome = try sandbox.run([], stdin: "fake-secret", environment: none,
                                  viaShell: "exec \"$0\" client add prod/orders --client-id o --secret-stdin --no-verify --passphrase-fd 3 3<\(phrase)")
        #expect(outcome.status == 0, "\(outcome)")
        let wrong = sandbox.directory.file("wrong")
        try "incorrect horse battery staple".write(toFile: wrong, atomically: true, encoding: .utf8)
        let before = try sandbox.contents
        outcome = try sandbox.run([], environment: none, viaShell: "exec \"$0\" realm remove prod --force --passphrase-fd 3 3<\(wrong)")
        #expect(outcome.status == 5, "\(outcome)")
        #expect(outcome.stderr.contains("cannot unlock") && outcome.stderr.contains("wrong passphrase"))
        #expect(try sandbox.contents == before)
    }

    @Test func keyslotsCanBeAddedAndRemovedButNeverTheLast() throws {
        let sandbox = try Sandbox.populated()
        let second = sandbox.directory.file("second-key")
        try sandbox.ok("keyslot", "add", "--new-key-file", second, "--label", "ci")
        #expect(try sandbox.mode(of: second) == 0o600)
        let list = try sandbox.ok("keyslot", "list")
        #expect(list.stdout.contains("ci") && list.stdout.split(separator: "\n").count == 3)
        try sandbox.ok("keyslot", "remove", "1", "--yes")
        let old = try sandbox.run(["client", "remove", "prod/orders"])
        #expect(old.status == 5, "\(old)")
        let before = try sandbox.contents
        let last = try sandbox.run(["keyslot", "remove", "2"], environment: ["CLOAK_KEY_FILE": second])
        #expect(last.status == 4 && last.stderr.contains("last one"), "\(last)")
        #expect(try sandbox.contents == before)
        try sandbox.run(["doctor"], environment: ["CLOAK_KEY_FILE": second])
    }

    @Test func rekeyResealsAndKeepsTheVaultHealthy() throws {
        let sandbox = try Sandbox.populated()
        let sealedBefore = try RawVault.execute(sandbox.vault, "SELECT hex(sealed) FROM secret_versions ORDER BY id")
        let outcome = try sandbox.ok("rekey")
        #expect(outcome.stderr.contains("2 sealed value(s) re-sealed"))
        let sealedAfter = try RawVault.execute(sandbox.vault, "SELECT hex(sealed) FROM secret_versions ORDER BY id")
        #expect(sealedAfter.count == 2 && zip(sealedBefore, sealedAfter).allSatisfy { $0 != $1 })
        try sandbox.ok("doctor")
    }

    @Test func realmUpdateOfTheTokenURLResealsTheSecrets() throws {
        let sandbox = try Sandbox.populated()
        try sandbox.ok("realm", "update", "prod", "--token-url", "https://idp2.example.test/realms/prod/protocol/openid-connect/token")
        try sandbox.ok("doctor")
    }

    @Test func realmRemoveWithForceRemovesItsSecretsToo() throws {
        let sandbox = try Sandbox.populated()
        let refused = try sandbox.run(["realm", "remove", "prod"])
        #expect(refused.status == 4 && refused.stderr.contains("--force"), "\(refused)")
        try sandbox.ok("realm", "remove", "prod", "--force", "--yes")
        #expect(try RawVault.execute(sandbox.vault, "SELECT count(*) FROM secret_versions") == ["0"])
        #expect(try RawVault.execute(sandbox.vault, "SELECT count(*) FROM clients") == ["0"])
        let realms = try JSONSerialization.jsonObject(with: Data(try sandbox.ok("realm", "list", "--json").stdout.utf8)) as? [Any]
        #expect(realms?.isEmpty == true)
    }

    /// Two processes writing at once: the second waits for the first's lock (busy timeout) and
    /// both land; nobody sees "database is locked".
    @Test func concurrentWritersBothLand() async throws {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "a", "--token-url", Sandbox.tokenURL)
        try sandbox.ok("realm", "add", "b", "--token-url", Sandbox.tokenURL)
        let results = try await withThrowingTaskGroup(of: [Outcome].self) { group in
            for realm in ["a", "b"] {
                group.addTask {
                    try (0..<15).map { index in
                        try sandbox.run(["client", "add", "--no-verify", "\(realm)/c\(index)", "--client-id", "c\(index)", "--secret-stdin"], stdin: "fake-\(index)")
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        for outcome in results { #expect(outcome.status == 0, "\(outcome)") }
        #expect(try RawVault.execute(sandbox.vault, "SELECT count(*) FROM clients") == ["30"])
        try sandbox.ok("doctor")
    }
}

extension WalkThroughTests {
    /// The README's walk-through, run as written: its one `sh` block, in bash on a terminal, with
    /// `cloak` and `cloak-idp` on PATH, HOME a fresh directory and nothing else set. Only what
    /// stands for the reader's own world is provided: `pass` (their password manager), `curl` to
    /// their API, and their `./sync-orders`. The prompts it makes are answered as a person would.
    @Test func theREADMEWalkThroughRunsAsWritten() throws {
        let readme = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../README.md").standardized.path, encoding: .utf8)
        let section = try #require(readme.range(of: "\n## Walk-through\n"), "the README has no Walk-through")
        let rest = readme[section.upperBound...]
        let open = try #require(rest.range(of: "```sh\n"))
        let close = try #require(rest[open.upperBound...].range(of: "\n```\n"))
        let walkThrough = String(rest[open.upperBound..<close.lowerBound])

        let sandbox = Sandbox()
        let bin = sandbox.directory.file("bin")
        try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: bin + "/cloak", withDestinationPath: Sandbox.binary)
        try FileManager.default.createSymbolicLink(atPath: bin + "/cloak-idp", withDestinationPath: IdP.binary)
        let work = sandbox.directory.file("work")
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let script = """
            set -euo pipefail
            cd "$WORK"
            trap 'kill "${IDP_PID:-}" 2>/dev/null || true' EXIT
            pass() { [ "$*" = "show sso/orders" ] && printf 'orders-secret-not-real\\n'; }
            curl() { case "$2" in "Authorization: Bearer "?*) echo "curl: a bearer token for $3";; *) echo "curl: no token" >&2; return 1;; esac; }
            printf '#!/bin/sh\\n[ -n "$ACCESS_TOKEN" ] && echo "sync-orders: got a token"\\n' >sync-orders && chmod +x sync-orders
            \(walkThrough)
            echo "walk-through: done"
            """
        let phrase = "fake-walk-through-passphrase"
        let (screen, status) = try TerminalTests().onTerminal(
            sandbox, ["-c", script],
            answers: [("Client secret for prod/billing: ", "billing-secret-not-real"), ("New passphrase: ", phrase), ("Type it again: ", phrase)],
            program: "/bin/bash",
            replacingEnvironment: ["PATH": bin + ":/usr/bin:/bin", "HOME": sandbox.directory.path, "WORK": work])
        #expect(status == 0 && screen.contains("walk-through: done"), "\(screen)")
        for line in ["curl: a bearer token for https://orders.internal/api", "sync-orders: got a token", "renamed from prod/billing",
                     "verified: the identity provider issued a token", "prod/orders is as asked already"] {
            #expect(screen.contains(line), "\(line): \(screen)")
        }
        for secret in ["orders-secret-not-real", "billing-secret-not-real", phrase] {
            #expect(!screen.contains(secret), "a secret reached the terminal: \(screen)")
        }
        #expect(FileManager.default.fileExists(atPath: sandbox.directory.file(".local/share/cloakroom/vault.db")))
    }
}
