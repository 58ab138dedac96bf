import Foundation
import CloakroomTestSupport
import Testing

/// The real `cloak` on a team vault in PostgreSQL (the throwaway cluster `scripts/test.sh`
/// starts): sandboxes with their own HOME, directory and key file copy stand for hosts.
@Suite(.serialized, .enabled(if: Sandbox.teamVault() != nil)) struct TeamVaultTests {
    /// `count` sandboxes on one new team vault, the first made it (`init`, realm r1 at `idp`,
    /// clients r1/basic and r1/post); the others hold a copy of its key file.
    func hosts(_ count: Int, idp: IdP) throws -> [Sandbox] {
        let (url, passwords) = try #require(Sandbox.teamVault())
        let hosts = (0..<count).map { _ in Sandbox(vault: url) }
        for host in hosts { host.extraEnvironment = ["PGPASSFILE": passwords] }
        try hosts[0].ok("init")
        try hosts[0].ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL])
        try hosts[0].ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        try hosts[0].ok("client", "add", "--no-verify", "r1/post", "--client-id", "post-svc", "--auth", "post", "--secret-stdin", stdin: IdP.postSecret)
        for host in hosts.dropFirst() {
            try FileManager.default.copyItem(atPath: hosts[0].keyFile, toPath: host.keyFile)
        }
        return hosts
    }

    @Test func aTeamVaultServesTokensChecksOutAndNeverPrintsItsPassword() async throws {
        let idp = try IdP()
        let owner = try hosts(1, idp: idp)[0]
        let (first, firstJSON) = try owner.tokenJSON("r1/basic")
        #expect(first.status == 0 && firstJSON["source"] as? String == "idp", "\(first)")
        let (second, secondJSON) = try owner.tokenJSON("r1/basic")
        #expect(second.status == 0 && secondJSON["source"] as? String == "cache", "\(second)")
        #expect(try await idp.tokenRequests() == 1)
        let listed = try owner.ok("client", "list")
        #expect(listed.stdout.contains("r1/basic") && listed.stdout.contains("r1/post"))
        let doctor = try owner.run(["doctor"])
        #expect(doctor.status == 0 && doctor.stdout.contains("every migration as shipped"), "\(doctor)")
        #expect(try owner.run(["log", "--verify"]).status == 0)
        let all = [first, second, listed, doctor].map { $0.stdout + $0.stderr }.joined()
        #expect(!all.contains("fake-pg-"), "a database password was printed")
    }

    /// Three hosts with eight processes each ask at once for a token nobody has: the IdP sees
    /// one request, and everyone gets that token.
    @Test func threeHostsAskingAtOnceMakeOneRequest() async throws {
        let idp = try IdP()
        let hosts = try hosts(3, idp: idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":400,"route":"token"}"#)
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for host in hosts {
                for _ in 0..<8 { group.addTask { try host.run(["token", "r1/basic"]) } }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.allSatisfy { $0.status == 0 }, "\(outcomes.filter { $0.status != 0 })")
        #expect(Set(outcomes.map(\.stdout)).count == 1, "everyone got the same token")
        #expect(try await idp.tokenRequests() == 1)
    }

    /// The process holding the single-flight lock is killed while its request is at the IdP:
    /// the server ends its session and releases the lock, and another host's process proceeds.
    @Test func aHostKilledWhileFetchingBlocksNobody() async throws {
        let idp = try IdP()
        let hosts = try hosts(2, idp: idp)
        try await idp.fault(#"{"fault":"latency","delay_ms":8000,"route":"token","count":1}"#)
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: Sandbox.binary)
        victim.arguments = ["token", "r1/basic"]
        victim.environment = hosts[0].environment
        victim.standardOutput = FileHandle.nullDevice
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        for _ in 0..<500 where try await idp.arrivals("token") == 0 { try await Task.sleep(for: .milliseconds(20)) }
        let (arrived, answered) = (try await idp.arrivals("token"), try await idp.tokenRequests())
        try #require(arrived == 1 && answered == 0, "the victim's request is not being held at the IdP")
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        let start = Date()
        let (outcome, json) = try hosts[1].tokenJSON("r1/basic")
        #expect(outcome.status == 0 && json["source"] as? String == "idp", "\(outcome)")
        #expect(Date().timeIntervalSince(start) < 6, "waited for the dead process's request")
    }

    /// An agent on each of two hosts serves the team vault; a token refreshed on one host is
    /// what the other's agent serves next (it learnt of the change through NOTIFY and dropped
    /// what it held), and `cloak token` on a host asks that host's agent.
    @Test func agentsOnTwoHostsServeOneVaultAndLearnOfEachOthersChanges() async throws {
        let idp = try IdP()
        let hosts = try hosts(2, idp: idp)
        let agents = try hosts.map { try AgentProcess($0) }
        let first = try agents[0].curl("/v1/tokens/r1/basic")
        #expect(first.status == 200 && first.json["source"] as? String == "idp", "\(first.body)")
        let second = try agents[1].curl("/v1/tokens/r1/basic")
        #expect(second.json["source"] as? String == "cache" && second.json["access_token"] as? String == first.json["access_token"] as? String)
        #expect(try await idp.tokenRequests() == 1)

        let (refreshed, json) = try hosts[1].tokenJSON("r1/basic", ["--refresh"], environment: ["CLOAK_AGENT_SOCK": agents[1].socket])
        #expect(refreshed.status == 0, "\(refreshed)")
        let newToken = try #require(json["access_token"] as? String)
        #expect(newToken != first.json["access_token"] as? String)
        try await waitFor(seconds: 10) { (try? agents[0].curl("/v1/tokens/r1/basic").json["access_token"] as? String) == newToken }
        for agent in agents { #expect(agent.stop() == 0, "\(agent.log)") }
    }

    /// Three hosts' agents on one team vault, RotationTests' realm stored two hours ago under an
    /// hourly schedule: each due client is rotated by exactly one agent (one `--on-rotate` line
    /// in all, version 2 everywhere). Then a host's agent is killed right after pushing a
    /// rotation: its session ends, the server releases its lock, and another host's agent settles
    /// the rotation, once.
    @Test func agentsOnThreeHostsRotateEachDueClientOnceAndSettleAKilledOnesRotation() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let (url, passwords) = try #require(Sandbox.teamVault())
        let hosts = (0..<3).map { _ in Sandbox(vault: url) }
        let twoHoursAgo = ["CLOAK_TEST_CLOCK_OFFSET": "-7200"]
        for host in hosts { host.extraEnvironment = ["PGPASSFILE": passwords] }
        func ok(_ arguments: [String], stdin: String? = nil) throws {
            let outcome = try hosts[0].run(arguments, stdin: stdin, environment: twoHoursAgo)
            try #require(outcome.status == 0, "cloak \(arguments.joined(separator: " ")): \(outcome)")
        }
        try ok(["init"])
        try ok(["realm", "add", "r1", "--token-url", idp.tokenURL])
        try ok(["client", "add", "--no-verify", "r1/admin", "--client-id", "rot-admin", "--secret-stdin"], stdin: RotationTests.adminSecret)
        try ok(["client", "add", "--no-verify", "r1/orders", "--client-id", "orders-svc", "--secret-stdin"], stdin: RotationTests.ordersSecret)
        try ok(["client", "add", "--no-verify", "r1/billing", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin"], stdin: RotationTests.billingSecret)
        try ok(["realm", "update", "r1", "--admin-client", "r1/admin", "--rotate-every", "1h"])
        for host in hosts.dropFirst() { try FileManager.default.copyItem(atPath: hosts[0].keyFile, toPath: host.keyFile) }
        func versions() throws -> [String: Int] {
            let plan = try hosts[0].ok("rotate", "--realm", "r1", "--all", "--dry-run", "--json").stdout
            let clients = (try JSONSerialization.jsonObject(with: Data(plan.utf8)) as? [String: Any])?["clients"] as? [[String: Any]] ?? []
            return Dictionary(uniqueKeysWithValues: clients.map { ($0["client"] as? String ?? "?", $0["secret_version"] as? Int ?? 0) })
        }

        let hooks = hosts[0].directory.file("hooks.log")
        let arguments = ["--schedule-check", "0.5", "--on-rotate", #"echo "$CLOAK_REALM/$CLOAK_CLIENT v$CLOAK_SECRET_VERSION" >> '"# + hooks + "'"]
        var agents = try hosts.map { try AgentProcess($0, arguments: arguments) }
        func lines() -> [String] { ((try? String(contentsOfFile: hooks, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init) }
        try await waitFor(seconds: 30) { lines().count >= 3 }
        try await Task.sleep(for: .milliseconds(1500))  // two more looks at the schedule each
        for agent in agents { #expect(agent.stop() == 0, "\(agent.log)") }
        #expect(lines().sorted() == ["r1/admin v2", "r1/billing v2", "r1/orders v2"], "\(agents.map(\.log))")
        #expect(try versions() == ["r1/admin": 2, "r1/billing": 2, "r1/orders": 2])
        #expect(try await RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret) == false)

        // Due again (three hours on), but host 0's agent dies right after its first push.
        let later = ["CLOAK_TEST_CLOCK_OFFSET": "10800"]
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: Sandbox.binary)
        victim.arguments = ["agent", "--socket", hosts[0].directory.file("run/victim.sock"), "--schedule-check", "0.5", "--rotate-parallel", "1"]
        victim.environment = hosts[0].environment.merging(later.merging(["CLOAK_TEST_CRASH_AFTER": "sent"]) { $1 }) { $1 }
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        victim.waitUntilExit()
        #expect(victim.terminationReason == .uncaughtSignal && victim.terminationStatus == SIGKILL)
        #expect(try hosts[1].ok("rotate", "--resume", "--dry-run").stdout.contains("interrupted rotation"), "an open journal")
        try? FileManager.default.removeItem(atPath: hooks)
        agents = try hosts.dropFirst().map { try AgentProcess($0, arguments: arguments, environment: later) }
        try await waitFor(seconds: 40) { lines().count >= 3 }
        try await Task.sleep(for: .milliseconds(1500))
        for agent in agents { #expect(agent.stop() == 0, "\(agent.log)") }
        #expect(lines().sorted() == ["r1/admin v3", "r1/billing v3", "r1/orders v3"], "\(agents.map(\.log))")
        #expect(try versions() == ["r1/admin": 3, "r1/billing": 3, "r1/orders": 3])
        #expect(try hosts[1].ok("rotate", "--resume").stderr.contains("no interrupted rotations"))
        #expect(try hosts[2].tokenJSON("r1/billing", ["--refresh"]).0.status == 0, "the IdP accepts the vault's current secret")
    }

    /// `cloak vault copy` moves a host's SQLite vault into the team vault and back: the copy
    /// serves the cached token with the same key file, and its audit log (with the copy's own
    /// history) verifies; a second copy to the same place is refused, and nothing secret is printed.
    @Test func aFileVaultIsCopiedIntoATeamVaultAndBack() async throws {
        let idp = try IdP()
        let (url, passwords) = try #require(Sandbox.teamVault())
        let laptop = Sandbox()
        try laptop.ok("init")
        try laptop.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL])
        try laptop.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        let (first, firstJSON) = try laptop.tokenJSON("r1/basic")
        #expect(first.status == 0 && firstJSON["source"] as? String == "idp")

        let team = Sandbox(vault: url)
        team.extraEnvironment = ["PGPASSFILE": passwords]
        try FileManager.default.copyItem(atPath: laptop.keyFile, toPath: team.keyFile)
        let copied = try laptop.run(["vault", "copy", laptop.vault, url, "--json"], environment: ["PGPASSFILE": passwords])
        #expect(copied.status == 0, "\(copied)")
        let report = try JSONSerialization.jsonObject(with: Data(copied.stdout.utf8)) as? [String: Any]
        let rows = report?["rows"] as? [String: Int]
        #expect(rows?["clients"] == 1 && rows?["cached_tokens"] == 1 && (rows?["events"] ?? 0) >= 3, "\(copied.stdout)")
        let (served, servedJSON) = try team.tokenJSON("r1/basic")
        #expect(served.status == 0 && servedJSON["source"] as? String == "cache" && servedJSON["access_token"] as? String == firstJSON["access_token"] as? String)
        #expect(try team.run(["log", "--verify"]).status == 0)
        #expect(try team.run(["doctor"]).status == 0)

        let again = try laptop.run(["vault", "copy", laptop.vault, url], environment: ["PGPASSFILE": passwords])
        #expect(again.status != 0 && again.stderr.contains("holds a vault"), "\(again)")
        let back = team.directory.file("back/vault.db")
        let returned = try team.run(["vault", "copy", url, back])
        #expect(returned.status == 0 && returned.stderr.contains("the audit log verifies"), "\(returned)")
        let home = Sandbox(vault: back)
        try FileManager.default.copyItem(atPath: laptop.keyFile, toPath: home.keyFile)
        #expect(try home.tokenJSON("r1/basic").1["source"] as? String == "cache")
        #expect(try await idp.tokenRequests() == 1)
        for output in [copied, again, returned] {
            #expect(!(output.stdout + output.stderr).contains(IdP.basicSecret) && !(output.stdout + output.stderr).contains("fake-pg-"))
        }
    }

    /// The owner's `init` prints the GRANTs; run as the owner (with psql), they let the runtime
    /// role use the vault, and nothing more: it cannot make a vault of its own.
    @Test func theGrantsInitPrintsAreWhatARuntimeRoleNeeds() throws {
        let (url, passwords) = try #require(Sandbox.teamVault())
        let owner = Sandbox(vault: url)
        owner.extraEnvironment = ["PGPASSFILE": passwords]
        let grants = try owner.ok("init").stdout
        #expect(grants.contains("GRANT USAGE ON SCHEMA cli_") && grants.contains("TO \"cloak_runtime\";"), "\(grants)")
        try owner.ok("realm", "add", "prod", "--token-url", Sandbox.tokenURL)
        try owner.ok("client", "add", "--no-verify", "prod/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: Sandbox.ordersSecret)

        let runtimeURL = url.replacingOccurrences(of: "cloak_owner@", with: "cloak_runtime@")
        let runtime = Sandbox(vault: runtimeURL)
        runtime.extraEnvironment = ["PGPASSFILE": passwords]
        try FileManager.default.copyItem(atPath: owner.keyFile, toPath: runtime.keyFile)
        #expect(try runtime.run(["client", "list"]).status == 8, "the runtime role read the vault before any GRANT")

        let psql = Process()
        psql.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        psql.arguments = [String(url.prefix { $0 != "?" }), "-v", "ON_ERROR_STOP=1", "-qc", grants]
        psql.environment = ["PGPASSFILE": passwords, "PATH": "/usr/bin:/bin"]
        try psql.run()
        psql.waitUntilExit()
        try #require(psql.terminationStatus == 0)

        #expect(try runtime.ok("client", "list").stdout.contains("prod/orders"))
        try runtime.ok("client", "add", "--no-verify", "prod/billing", "--client-id", "billing-svc", "--secret-stdin", stdin: Sandbox.billingSecret)
        let own = Sandbox(vault: runtimeURL.replacingOccurrences(of: "&schema=cli_", with: "&schema=mine_"))
        own.extraEnvironment = ["PGPASSFILE": passwords]
        let refused = try own.run(["init"])
        #expect(refused.status == 8 && refused.stderr.contains("refused this role"), "\(refused)")
    }

    /// The server's disk fills under the vault's tables (a tablespace on a small tmpfs of the
    /// test's own): a write that needs a new page is exit 8, saying whose disk is full and that
    /// nothing was changed; the schema's rows are as they were, and once there is space the same
    /// command succeeds and the audit log verifies.
    @Test(.enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskOnTheServerIsExit8AndChangesNothing() async throws {
        let idp = try IdP()
        let owner = try hosts(1, idp: idp)[0]
        let schema = String(owner.vault.split(separator: "schema=").last!)
        let server = try #require(PostgresServer())
        let space = try server.smallTablespace("\(schema)_space", megabytes: 4)
        defer { space.drop(schema: schema) }
        try server.superuser("""
            DO $$ DECLARE r record; BEGIN
              FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                       WHERE n.nspname = '\(schema)' AND c.relkind IN ('r', 'i') LOOP
                EXECUTE format('ALTER %s %s SET TABLESPACE \(space.name)', CASE r.relkind WHEN 'r' THEN 'TABLE' ELSE 'INDEX' END, r.name);
              END LOOP;
            END $$
            """)
        let filler = space.directory + "/filler"
        Mount.fill(filler)

        // Rows go into pages with room until one is full: the write that needs a new page fails.
        func add(_ n: Int) throws -> Outcome {
            try owner.run(["client", "add", "--no-verify", "r1/extra-\(n)", "--client-id", "extra-\(n)", "--secret-stdin"], stdin: "fake-extra-secret-\(n)")
        }
        var failed: (Outcome, n: Int, before: String)?
        for n in 1...300 where failed == nil {
            let before = try server.dump(schema)
            let outcome = try add(n)
            if outcome.status != 0 { failed = (outcome, n, before) }
        }
        let (outcome, n, before) = try #require(failed, "300 clients fitted on a full disk")
        #expect(outcome.status == 8, "\(outcome)")
        #expect(outcome.stderr.contains("server") && outcome.stderr.contains("No space left on device"), "\(outcome)")
        #expect(outcome.stderr.contains("nothing was changed") || outcome.stderr.contains("keeps what it held"), "\(outcome)")
        #expect(!(outcome.stdout + outcome.stderr).contains("fake-pg-") && !outcome.stderr.contains("fake-extra"))
        #expect(try server.dump(schema) == before, "the vault changed")

        try FileManager.default.removeItem(atPath: filler)
        let again = try add(n)
        #expect(again.status == 0, "\(again)")
        #expect(try owner.run(["log", "--verify"]).status == 0)
        #expect(try owner.tokenJSON("r1/basic").0.status == 0)
    }

    @Test func aServerThatIsNotThereIsExit19AndAPasswordInTheURLIsRefused() throws {
        let sandbox = Sandbox(vault: "postgresql://cloak_owner@127.0.0.1:1/cloak?sslmode=disable")
        let refused = try sandbox.run(["client", "list"])
        #expect(refused.status == 19 && refused.stderr.contains("127.0.0.1:1") && refused.stderr.contains("connection refused"), "\(refused)")
        let withPassword = Sandbox(vault: "postgresql://cloak_owner:fake-pg-in-url@127.0.0.1:1/cloak")
        let outcome = try withPassword.run(["client", "list"])
        #expect(outcome.status == 2 && outcome.stderr.contains("password file") && !outcome.stderr.contains("fake-pg-in-url"), "\(outcome)")
    }
}

/// The throwaway cluster `scripts/test.sh` started, reached as its superuser over the Unix
/// socket (trust: the socket's directory admits only the server's user and root).
struct PostgresServer {
    let bin: String, socket: String, port: String, user: String

    init?() {
        let environment = ProcessInfo.processInfo.environment
        guard let bin = environment["CLOAK_TEST_POSTGRES_BIN"], let socket = environment["CLOAK_TEST_POSTGRES_SOCKET"],
              let port = environment["CLOAK_TEST_POSTGRES_PORT"], let user = environment["CLOAK_TEST_POSTGRES_SERVER_USER"] else { return nil }
        (self.bin, self.socket, self.port, self.user) = (bin, socket, port, user)
    }

    @discardableResult
    func superuser(_ sql: String) throws -> String {
        try run("psql", ["-v", "ON_ERROR_STOP=1", "-Atqc", sql])
    }

    /// Every row of `schema`'s tables, as pg_dump writes them; not the sequences (a failed
    /// insert uses up a number: they are not transactional) nor pg_dump's per-run `\restrict` key.
    func dump(_ schema: String) throws -> String {
        try run("pg_dump", ["--data-only", "--schema=" + schema]).split(separator: "\n")
            .filter { !$0.hasPrefix("SELECT pg_catalog.setval(") && !$0.hasPrefix("\\restrict") && !$0.hasPrefix("\\unrestrict") }
            .joined(separator: "\n")
    }

    private func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process(), output = Pipe(), errors = Pipe()
        process.executableURL = URL(fileURLWithPath: bin + "/" + tool)
        process.arguments = ["-h", socket, "-p", port, "-U", "postgres", "-d", "cloak"] + arguments
        process.environment = ["PATH": "/usr/bin:/bin"]
        (process.standardOutput, process.standardError) = (output, errors)
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile(), err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw RawVault.Failure(description: "\(tool): \(String(decoding: err, as: UTF8.self))")
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A tablespace on a tmpfs of its own, owned by the server's user.
    struct Tablespace {
        let server: PostgresServer, name: String, directory: String
        let mountPoint: TemporaryDirectory

        /// Drops `schema` (which must hold all that is in it), then the tablespace and the mount.
        func drop(schema: String) {
            _ = try? server.superuser("DROP SCHEMA IF EXISTS \(schema) CASCADE")
            _ = try? server.superuser("DROP TABLESPACE IF EXISTS \(name)")
            Mount.unmount(mountPoint.path)
        }
    }

    func smallTablespace(_ name: String, megabytes: Int) throws -> Tablespace {
        let mountPoint = TemporaryDirectory()
        chmod(mountPoint.path, 0o755)  // the server's user must reach it
        guard let account = getpwnam(user) else { throw RawVault.Failure(description: "no user \(user)") }
        guard Mount.run(["mount", "-t", "tmpfs", "-o", "size=\(megabytes)m,mode=0700,uid=\(account.pointee.pw_uid),gid=\(account.pointee.pw_gid)",
                         "tmpfs", mountPoint.path]) else { throw RawVault.Failure(description: "mount -t tmpfs failed") }
        let space = Tablespace(server: self, name: name, directory: mountPoint.path, mountPoint: mountPoint)
        do { try superuser("CREATE TABLESPACE \(name) LOCATION '\(mountPoint.path)'") } catch { Mount.unmount(mountPoint.path); throw error }
        return space
    }
}
