import Foundation
import CloakroomTestSupport
import Testing

/// `cloak token` against a real cloak-idp over HTTP on 127.0.0.1.
@Suite(.serialized) struct TokenTests {
    @Test func firstTokenComesFromTheIdPThenFromTheCache() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let (first, json) = try sandbox.tokenJSON("r1/basic")
        #expect(first.status == 0, "\(first)")
        #expect(json["source"] as? String == "idp")
        #expect(json["token_type"] as? String == "Bearer")
        #expect((json["expires_in"] as? Int).map { (295...300).contains($0) } == true)
        let (second, cached) = try sandbox.tokenJSON("r1/basic")
        #expect(second.status == 0 && cached["source"] as? String == "cache")
        #expect(cached["access_token"] as? String == json["access_token"] as? String)
        #expect(try await idp.tokenRequests() == 1)
        // Both client-authentication methods, and a secret full of characters Basic must encode.
        let (post, postJSON) = try sandbox.tokenJSON("r1/post")
        #expect(post.status == 0 && postJSON["source"] as? String == "idp", "\(post)")
        #expect(!first.stderr.contains("fake-") && !post.stderr.contains("fake-"))
    }

    @Test func everyOutputFormat() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let raw = try sandbox.ok("token", "r1/basic").stdout
        let token = raw.trimmingCharacters(in: .newlines)
        #expect(token.split(separator: ".").count == 3 && raw == token + "\n")
        #expect(try sandbox.ok("token", "r1/basic", "--format", "header").stdout == "Authorization: Bearer \(token)\n")
        let env = try sandbox.ok("token", "r1/basic", "--format", "env", "--env-var", "ORDERS_TOKEN").stdout
        #expect(env.hasPrefix("export ORDERS_TOKEN='\(token)'\nexport ORDERS_TOKEN_EXPIRES_AT='20"))
        let exec = try sandbox.ok("token", "r1/basic", "--format", "exec-credential").stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(exec.utf8)) as? [String: Any])
        #expect(object["apiVersion"] as? String == "client.authentication.k8s.io/v1" && object["kind"] as? String == "ExecCredential")
        let status = try #require(object["status"] as? [String: Any])
        #expect(status["token"] as? String == token && (status["expirationTimestamp"] as? String)?.hasSuffix("Z") == true)
    }

    @Test func rejectedCredentialsFailAtOnceNamingTheClientNeverTheSecret() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("client", "add", "--no-verify", "r1/wrong", "--client-id", "broker-svc", "--secret-stdin", stdin: "fake-wrong-secret")
        try sandbox.ok("client", "add", "--no-verify", "r1/unknown", "--client-id", "nobody", "--secret-stdin", stdin: "fake-whatever")
        let wrong = try sandbox.run(["token", "r1/wrong"])
        #expect(wrong.status == 11, "\(wrong)")
        #expect(wrong.stderr.contains("rejected client r1/wrong") && wrong.stderr.contains("unauthorized_client"))
        #expect(!wrong.stderr.contains("fake-") && wrong.stdout.isEmpty)
        let unknown = try sandbox.run(["token", "r1/unknown"])
        #expect(unknown.status == 11 && unknown.stderr.contains("invalid_client"), "\(unknown)")
        #expect(try await idp.tokenRequests() == 2, "credential errors are not retried")
    }

    /// Faults that pass: retried within the deadline, and the user gets a token.
    @Test(arguments: [
        #"{"fault":"status","status":503,"route":"token","count":2}"#,
        #"{"fault":"status","status":500,"route":"token","count":1}"#,
        #"{"fault":"rate-limit","retry_after":1,"route":"token","count":1}"#,
        #"{"fault":"reset","route":"token","count":1}"#,
        #"{"fault":"html","status":502,"route":"token","count":1}"#,
        #"{"fault":"missing-expires-in","route":"token","count":1}"#,
        #"{"fault":"latency","delay_ms":300,"route":"token","count":1}"#,
    ])
    func transientFaultsAreRetried(fault: String) async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(fault)
        let (outcome, json) = try sandbox.tokenJSON("r1/basic")
        #expect(outcome.status == 0, "\(outcome)")
        #expect(json["source"] as? String == "idp")
    }

    /// Faults that do not pass: a clear error, a documented exit code, and nothing cached.
    @Test(arguments: [
        (#"{"fault":"truncated-json","route":"token","count":1}"#, Int32(13), "without a JSON object"),
        (#"{"fault":"oversized","bytes":10485760,"route":"token","count":1}"#, 13, "larger than"),
        (#"{"fault":"status","status":503,"route":"token"}"#, 12, "HTTP 503"),
        (#"{"fault":"latency","delay_ms":5000,"route":"token"}"#, 12, "within"),
    ])
    func persistentFaultsFailClearly(fault: String, status: Int32, message: String) async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(fault)
        let outcome = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": "2"])
        #expect(outcome.status == status, "\(outcome)")
        #expect(outcome.stderr.contains(message) && outcome.stdout.isEmpty, "\(outcome)")
        #expect(try sandbox.ok("cache", "list", "--json").stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[]")
    }

    @Test func idpDownServesAStillValidCachedToken() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let (_, first) = try sandbox.tokenJSON("r1/basic")
        try await idp.fault(#"{"fault":"status","status":503,"route":"token"}"#)
        // 290 s of the 300 s token must be left: only a refresh could satisfy that, and it fails.
        let (outcome, json) = try sandbox.tokenJSON("r1/basic", ["--min-ttl", "295"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 0, "\(outcome)")
        #expect(json["source"] as? String == "cache" && json["access_token"] as? String == first["access_token"] as? String)
    }

    @Test func nothingListeningFailsWithinTheDeadline() throws {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--token-url", "http://127.0.0.1:9/realms/r1/protocol/openid-connect/token")
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "x", "--secret-stdin", stdin: "fake-x")
        let outcome = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 12 && outcome.stderr.contains("127.0.0.1"), "\(outcome)")
    }

    @Test func aURLThatIsNotATokenEndpointIsNamed() throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--token-url", idp.baseURL + "/realms/r1/.well-known/openid-configuration")
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let outcome = try sandbox.run(["token", "r1/basic"])
        #expect(outcome.status == 13 && outcome.stderr.contains("OAuth token endpoint"), "\(outcome)")
    }

    /// 24 processes ask at once for a token nobody has: the IdP sees one request.
    @Test func concurrentProcessesMakeOneRequest() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":400,"route":"token"}"#)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for _ in 0..<24 { group.addTask { try sandbox.run(["token", "r1/basic"]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes.filter { $0.status != 0 })")
        #expect(Set(outcomes.map(\.stdout)).count == 1, "everyone got the same token")
        #expect(try await idp.tokenRequests() == 1)
    }

    /// SIGKILL while holding the refresh lock: the kernel releases it and the next one proceeds.
    @Test func processKilledWhileRefreshingDoesNotBlockTheNext() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":8000,"route":"token","count":1}"#)
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: Sandbox.binary)
        victim.arguments = ["token", "r1/basic"]
        victim.environment = sandbox.environment
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        for _ in 0..<500 where try await idp.arrivals("token") == 0 { try await Task.sleep(for: .milliseconds(20)) }
        // Killed while its request is held at the IdP, so while it holds the lock: otherwise the
        // test would prove nothing (a victim killed before it took the lock blocks no one).
        let (arrived, answered) = (try await idp.arrivals("token"), try await idp.tokenRequests())
        try #require(arrived == 1 && answered == 0, "the victim's request is not being held at the IdP")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let start = Date()
        let (outcome, json) = try sandbox.tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(Date().timeIntervalSince(start) < 6, "waited for the dead process's request")
    }

    @Test func untrustedCertificateIsRefusedUntilTheRealmTrustsItsCA() throws {
        let certs = TemporaryDirectory()
        let cert = certs.file("cert.pem"), key = certs.file("key.pem")
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        let idp = try IdP(tls: (cert, key))
        #expect(idp.baseURL.hasPrefix("https://"))
        let untrusted = try Sandbox.tokens(idp)
        let refused = try untrusted.run(["token", "r1/basic"])
        #expect(refused.status == 14 && refused.stderr.contains("--ca-file"), "\(refused)")
        let trusted = try Sandbox.tokens(idp, caFile: cert)
        let (outcome, json) = try trusted.tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
    }

    @Test func cacheListAndClear() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("token", "r1/basic")
        try sandbox.ok("token", "r1/post", "--scope", "profile")
        let list = try sandbox.ok("cache", "list").stdout
        #expect(list.contains("r1/basic") && list.contains("r1/post") && list.contains("scope=profile"))
        #expect(!list.contains("eyJ"), "cache list printed a token")
        try sandbox.ok("cache", "clear", "r1/basic")
        #expect(!(try sandbox.ok("cache", "list").stdout.contains("r1/basic")))
    }

    /// A miss is seen first by the cached path (`FastToken`), which hands its unlocked vault to
    /// the full command: the vault and the key file are each opened once per process, not twice.
    @Test func aCacheMissOpensTheVaultAndKeyFileOnce() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let trace = sandbox.directory.file("openat.trace")
        let outcome = try sandbox.run([], viaShell: #"exec strace -f -qq -e trace=openat -o '\#(trace)' "$0" token r1/basic"#)
        #expect(outcome.status == 0 && outcome.stdout.hasPrefix("eyJ"), "\(outcome)")
        let opens = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
        // By the sandbox's own directory name: cloak may spell $TMPDIR's part with a double slash.
        let directory = URL(fileURLWithPath: sandbox.directory.path).lastPathComponent
        let keyFile = opens.filter { $0.contains(directory + "/key\"") }
        let vault = opens.filter { $0.contains(directory + "/vault/vault.db\"") }
        #expect(keyFile.count == 1, "\(keyFile)")
        #expect(vault.count == 2, "a header check and SQLite's own open: \(vault)")
    }

    /// With `CLOAK_VAULT` unset or empty the vault is `$XDG_DATA_HOME/cloakroom/vault.db` (an
    /// absolute XDG_DATA_HOME only), else `$HOME/.local/share/cloakroom/vault.db`: for the full
    /// command (the miss) and the cached path, which reads the environment on its own, alike.
    @Test func theDefaultVaultPathServesTheCacheToo() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let files = FileManager.default
        let data = sandbox.directory.file("data")
        try files.createDirectory(atPath: data + "/cloakroom", withIntermediateDirectories: true)
        try files.moveItem(atPath: sandbox.vault, toPath: data + "/cloakroom/vault.db")
        let miss = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_VAULT": "", "XDG_DATA_HOME": data])
        let hit = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_VAULT": "", "XDG_DATA_HOME": data])
        #expect(miss.status == 0 && hit.status == 0 && hit.stdout == miss.stdout, "\(miss) \(hit)")
        let home = sandbox.directory.path + "/.local/share/cloakroom"
        try files.createDirectory(atPath: home, withIntermediateDirectories: true)
        try files.moveItem(atPath: data + "/cloakroom/vault.db", toPath: home + "/vault.db")
        let fromHome = try sandbox.run(["token", "r1/basic"], environment: ["CLOAK_VAULT": "", "XDG_DATA_HOME": "relative/data"])
        #expect(fromHome.status == 0 && fromHome.stdout == miss.stdout, "\(fromHome)")
        #expect(try await idp.tokenRequests() == 1)
    }
}

@Suite struct ExecTests {
    @Test func commandRunsWithTheTokenAndItsExitCodeIsPassedThrough() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let token = try sandbox.ok("token", "r1/basic").stdout.trimmingCharacters(in: .newlines)
        let outcome = try sandbox.run(["exec", "r1/basic", "--env-var", "ORDERS_TOKEN", "--", "/bin/sh", "-c",
                                       #"printf '%s|%s|%s' "$ORDERS_TOKEN" "${ORDERS_TOKEN_EXPIRES_AT:+set}" "$(env | grep -c fake-)"; exit 7"#])
        #expect(outcome.status == 7, "\(outcome)")
        #expect(outcome.stdout == "\(token)|set|0", "the token, its expiry, and no secret in the environment")
    }

    @Test func signalsAreTheCommandsOwn() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Sandbox.binary)
        process.arguments = ["exec", "r1/basic", "--", "/bin/sh", "-c", "kill -TERM $$"]
        process.environment = sandbox.environment
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGTERM)
    }

    @Test func missingCommandOrProgramIsAClearError() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let none = try sandbox.run(["exec", "r1/basic"])
        #expect(none.status == 2 && none.stderr.contains("after --"), "\(none)")
        let missing = try sandbox.run(["exec", "r1/basic", "--", "/nonexistent/program"])
        #expect(missing.status == 127 && missing.stderr.contains("cannot run /nonexistent/program"), "\(missing)")
    }
}

@Suite(.serialized) struct InspectTests {
    /// A Keycloak token URL implies the realm's JWKS (`…/certs`); the signature is checked there.
    @Test func claimsAreShownAndTheSignatureVerifiedAgainstTheRealmsJWKS() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let human = try sandbox.ok("inspect", "r1/basic").stdout
        #expect(human.contains("azp") && human.contains("broker-svc"), "\(human)")
        #expect(human.contains("verified (RS256, kid ") && human.contains("JWKS \(idp.jwksURL)") && !human.contains("NOT verified"), "\(human)")
        #expect(human.contains("iss not checked: the realm has no issuer"))
        let json = try sandbox.ok("inspect", "r1/basic", "--json").stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["azp"] as? String == "broker-svc")
        #expect(object["issuer"] as? String == idp.baseURL + "/realms/r1")
        #expect((object["realm_roles"] as? [String])?.contains("default-roles-r1") == true)
        #expect((object["expires_at"] as? String)?.hasSuffix("Z") == true)
        let kid = try #require(object["key_id"] as? String)
        #expect(object["signature_verified"] as? Bool == true)
        #expect((object["signature"] as? String)?.hasPrefix("verified (RS256, kid \(kid), JWKS \(idp.jwksURL);") == true, "\(json)")
        #expect(!json.contains("eyJ"), "inspect printed the token")
        #expect(try await idp.requests("certs") == 2)
    }

    /// Claims come from the server: an escape sequence in one (here a role name) is shown
    /// escaped on the terminal, never sent to it; JSON carries it exactly.
    @Test func claimsWithControlCharactersAreShownEscaped() throws {
        let idp = try IdP(configuration: """
            {"realms":[{"realm":"r1","clients":[{"clientId":"broker-svc","secret":"\(IdP.basicSecret)",
              "serviceAccountRoles":{"realm":["ops\\u001b[2J\\u001b]0;owned\\u0007"],"clients":{"billing\\u001b[31m":["read"]}}}]}]}
            """)
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "r1", "--token-url", idp.tokenURL)
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let human = try sandbox.ok("inspect", "r1/basic").stdout
        #expect(!human.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x07 }, "\(human.debugDescription)")
        #expect(human.contains(#"ops\u{1B}[2J\u{1B}]0;owned\u{7}"#) && human.contains(#"roles of billing\u{1B}[31m"#), "\(human)")
        let json = try sandbox.ok("inspect", "r1/basic", "--json").stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect((object["realm_roles"] as? [String])?.contains("ops\u{1B}[2J\u{1B}]0;owned\u{7}") == true, "\(json)")
    }

    @Test func unreachableJWKSIsSaidToLeaveTheTokenUnverified() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        try await idp.fault(#"{"fault":"status","status":503,"route":"certs"}"#)
        let outcome = try sandbox.run(["inspect", "r1/basic", "--json"], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 0, "\(outcome)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any])
        #expect(object["signature_verified"] as? Bool == false)
        #expect((object["signature"] as? String)?.hasPrefix("NOT verified: the JWKS could not be fetched") == true, "\(outcome)")
    }

    /// The realm's keys changed under a cached token (the IdP restarted with a new key on the
    /// same address): its kid is in no JWKS of the realm, and inspect says so with exit 18.
    @Test func tokenSignedByAKeyTheRealmNoLongerPublishesIsAnError() throws {
        var idp: IdP? = try IdP()
        let port = try #require(Int(idp!.baseURL.split(separator: ":").last ?? ""))
        let sandbox = try Sandbox.tokens(idp!)
        try sandbox.ok("token", "r1/basic")
        idp?.stop()
        idp = nil
        let restarted = try IdP(port: port)
        let outcome = try sandbox.run(["inspect", "r1/basic"])
        #expect(outcome.status == 18, "\(outcome)")
        #expect(outcome.stderr.contains("has no RS256 signing key with kid") && outcome.stdout.isEmpty, "\(outcome)")
        _ = restarted
    }
}
