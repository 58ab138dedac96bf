#if PostgreSQL
import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom
@testable import CloakroomPostgres
import CloakroomAgent

/// What only a vault on PostgreSQL has: its URL and password file, the server's locks and
/// change notices, roles, and a server that is not there. The behavioural suites (Broker,
/// Rotator, TokenCache, ClientTag, Vault, Audit, Bundle) run on it too, through `Backend.all`.
@Suite struct PostgresLocationTests {
    let none: (String) -> String? = { _ in nil }

    @Test func aURLGivesHostsDatabaseSchemaAndVerifiedTLSByDefault() throws {
        let location = try PostgresLocation("postgresql://ops@db1.example.test:6432,db2.example.test/vaults?schema=team_a&target_session_attrs=read-write",
                                            environment: none)
        #expect(location.hosts == [.init(name: "db1.example.test", port: 6432), .init(name: "db2.example.test", port: 5432)])
        #expect(location.user == "ops" && location.database == "vaults" && location.schema == "team_a")
        #expect(location.sslMode == .verifyFull && location.readWrite)
        let socket = try PostgresLocation("postgres://ops@/vaults?host=/run/postgresql", environment: none)
        #expect(socket.hosts == [.init(name: "/run/postgresql", port: 5432)] && socket.schema == "cloakroom")
        let v6 = try PostgresLocation("postgresql://ops@[::1]:7000/vaults?sslmode=disable", environment: none)
        #expect(v6.hosts == [.init(name: "::1", port: 7000)])
    }

    @Test(arguments: [
        ("postgresql://ops:fake-password@db.example.test/vaults", "password"),
        ("postgresql://ops@db.example.test/vaults?sslmode=disable", "allow_plaintext=1"),
        ("postgresql://ops@db.example.test/vaults?sslmode=require", "allow_plaintext=1"),
        ("postgresql://ops@db.example.test/vaults?sslmod=verify-full", "unknown parameter \"sslmod\""),
        ("postgresql://ops@db.example.test/vaults?schema=Team-A", "schema \"Team-A\""),
        ("postgresql://ops@db.example.test:99999/vaults", "port"),
        ("postgresql://ops@db.example.test/vaults?host=relative", "Unix socket"),
        ("postgresql:///vaults", "no host"),
    ])
    func aBadURLSaysWhatIsWrongAndNeverRepeatsAPassword(url: String, names: String) {
        #expect { _ = try PostgresLocation(url, environment: none) } throws: { error in
            let error = error as! StoreError
            return error.kind == .invalidLocation && error.message.contains(names) && !"\(error.path) \(error.message)".contains("fake-password")
        }
    }

    @Test func plainTCPIsForLoopbackOrAnExplicitOptIn() throws {
        #expect(try PostgresLocation("postgresql://ops@127.0.0.1/v?sslmode=disable", environment: none).sslMode == .disable)
        #expect(try PostgresLocation("postgresql://ops@localhost/v?sslmode=disable", environment: none).sslMode == .disable)
        #expect(try PostgresLocation("postgresql://ops@db.example.test/v?sslmode=disable&allow_plaintext=1", environment: none).sslMode == .disable)
    }

    @Test func thePasswordFileIsReadAsLibpqReadsItAndRefusedWhenOthersCanReadIt() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("pgpass")
        try """
            # comment
            db.example.test:5432:other:ops:fake-wrong
            *:5432:vaults:ops:fake-first\\:colon
            db.example.test:*:*:ops:fake-never-reached
            localhost:5433:*:*:fake-socket
            """.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o600)
        let file = PasswordFile(path: path)
        #expect(try file.password(host: .init(name: "db.example.test", port: 5432), database: "vaults", user: "ops") == "fake-first:colon")
        #expect(try file.password(host: .init(name: "db.example.test", port: 5432), database: "other", user: "ops") == "fake-wrong")
        #expect(try file.password(host: .init(name: "/run/postgresql", port: 5433), database: "x", user: "y") == "fake-socket")
        #expect(try file.password(host: .init(name: "db.example.test", port: 5432), database: "vaults", user: "nobody") == nil)
        chmod(path, 0o644)
        #expect { _ = try file.password(host: .init(name: "db.example.test", port: 5432), database: "vaults", user: "ops") } throws: { error in
            (error as? StoreError)?.kind == .denied && "\(error)".contains("chmod 600") && !"\(error)".contains("fake-")
        }
        #expect(PasswordFile.located(environment: { $0 == "HOME" ? "/home/ops" : nil })?.path == "/home/ops/.pgpass")
        #expect(PasswordFile.located(environment: { $0 == "PGPASSFILE" ? "/etc/cloak/pgpass" : "/home/ops" })?.path == "/etc/cloak/pgpass")
    }

    /// A team vault has no directory to put its agent's socket beside: it goes in the user's
    /// cache, named by the URL, unless the runtime directory or CLOAK_AGENT_SOCK says otherwise.
    @Test func aTeamVaultsAgentSocketIsTheUsersOwnAndNamedByItsURL() {
        let home: (String) -> String? = { $0 == "HOME" ? "/home/ops" : nil }
        let a = AgentSocket.defaultPath(vaultPath: "postgresql://ops@db/v?schema=a", environment: home)
        let b = AgentSocket.defaultPath(vaultPath: "postgresql://ops@db/v?schema=b", environment: home)
        #expect(a.hasPrefix("/home/ops/.cache/cloakroom/agent-") && a.hasSuffix(".sock") && a != b)
        #expect(a == AgentSocket.defaultPath(vaultPath: "postgresql://ops@db/v?schema=a", environment: home))
        #expect(a.utf8.count < 108, "longer than a Unix socket path may be")
        #expect(AgentSocket.defaultPath(vaultPath: "postgresql://ops@db/v", environment: { $0 == "XDG_RUNTIME_DIR" ? "/run/user/1000" : nil })
                == "/run/user/1000/cloakroom/agent.sock")
    }

    /// migrations/postgresql/ is history too: a digest that changed means a shipped file was edited.
    @Test func shippedPostgreSQLMigrationsAreUnchanged() {
        let shipped = [1: "f29b185c375ae7f0e36ea1e0fbc9070e699ed53d9bc98d6b352f71897834eeca"]
        for (version, digest) in shipped {
            #expect(Migration.embeddedPostgreSQL.first { $0.version == version }?.checksum == digest, "migration \(version) was edited after it shipped")
        }
    }

    @Test func migrationsSplitAtSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let statements = PostgresMigrator.statements("""
            -- a comment; with a semicolon
            CREATE TABLE t (x text CHECK (x ~ '^[a;b]$'));
            CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no; never'; END $$;
            INSERT INTO t VALUES ('it''s; fine')
            """)
        #expect(statements.count == 3)
        #expect(statements[1].contains("RAISE EXCEPTION 'no; never'; END $$"))
        #expect(statements[2].contains("'it''s; fine'"))
    }
}

/// Against the throwaway cluster `scripts/test.sh` starts (skipped without it).
@Suite(.enabled(if: Backend.postgresBase != nil)) struct PostgresServerTests {
    @Test func aServerThatIsNotThereIsExit19StyleAndNamesTheHostNotAPassword() throws {
        let port = try #require(Backend.postgresBase).split(separator: ":")[2].prefix { $0.isNumber }
        // A port nobody listens on: one below the cluster's (the harness picked a free one).
        let url = "postgresql://cloak_owner@127.0.0.1:\(Int(port)! - 1)/cloak?sslmode=disable"
        #expect { _ = try Vault.open(at: url) } throws: { error in
            let error = error as! VaultError
            return error.code == .vaultUnavailable && error.message.contains("127.0.0.1:\(Int(port)! - 1)")
                && error.message.contains("connection refused") && !error.message.contains("fake-")
        }
    }

    @Test func noVaultInASchemaIsNotFoundAndASecondInitIsRefused() throws {
        let fixture = try Fixture(.postgresql)
        let empty = Backend.postgresql.location(in: fixture.directory)
        #expect { _ = try Vault.open(at: empty) } throws: { ($0 as? VaultError)?.code == .notFound }
        #expect { _ = try Vault.create(at: fixture.path, firstKeyslot: .keyFile(fixture.keyFile)) } throws: {
            ($0 as? VaultError)?.code == .alreadyExists
        }
    }

    /// `init` is one transaction: one that fails half-way (here a table of the schema's own is in
    /// the first migration's way) leaves no vault table behind, so a second try is not "a vault
    /// exists already".
    @Test func anInitThatFailsHalfWayLeavesNothingBehind() throws {
        let directory = TemporaryDirectory()
        let url = Backend.postgresql.location(in: directory)
        let location = try PostgresLocation(url, environment: FileSystem.environment)
        let session = try PostgresSession.connect(location, environment: FileSystem.environment, reporting: { $0 })
        let schema = location.schema
        func tables() throws -> [String] {
            try session.rows("SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ? ORDER BY 1", [.text(schema)]) {
                $0.text("name")
            }
        }
        try session.execute(script: "CREATE SCHEMA \(schema)")
        try session.execute(script: "CREATE TABLE \(schema).realms (note text)")
        let keyFile = directory.file("vault.key")
        #expect(throws: VaultError.self) { _ = try Vault.create(at: url, firstKeyslot: .keyFile(KeyFile.create(at: keyFile))) }
        #expect(try tables() == ["realms"], "the failed init's tables were rolled back")
        try session.execute(script: "DROP TABLE \(schema).realms")
        _ = try Vault.create(at: url, firstKeyslot: .keyFile(KeyFile.load(from: keyFile)))
        #expect(try tables().contains("keyslots"))
    }

    /// A read blocked by someone else's lock (an administrator's `LOCK TABLE` left open) fails as
    /// busy after the busy timeout, instead of waiting for the holder; so does a statement the
    /// server's `statement_timeout` cancels.
    @Test func aReadBlockedByAnotherLockOrTimedOutIsBusy() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let administrator = try PostgresSession.connect(PostgresLocation(fixture.path, environment: FileSystem.environment),
                                                        environment: FileSystem.environment, reporting: { $0 })
        try administrator.execute(script: "BEGIN")
        try administrator.execute(script: "LOCK TABLE clients IN ACCESS EXCLUSIVE MODE")
        let vault = try Vault.open(at: fixture.path, busyTimeout: .milliseconds(300))
        let start = ContinuousClock.now
        #expect { _ = try vault.clients() } throws: { error in
            let error = error as? VaultError
            return error?.code == .busy && error!.message.contains("lock timeout")
        }
        #expect(ContinuousClock.now - start < .seconds(5))
        try administrator.execute(script: "ROLLBACK")
        #expect(try vault.clients().count == 2)

        let session = (vault.store as! PostgresVaultStore).session
        try session.execute(script: "SET statement_timeout = '20ms'")
        #expect { try session.execute(script: "SELECT pg_sleep(1)") } throws: { error in
            (error as? VaultError)?.code == .busy && "\(error)".contains("statement timeout")
        }
    }

    /// `doctor` compares a team vault's tables, indexes, triggers and functions with what the
    /// shipped migrations make (in a scratch schema it rolls back): a dropped append-only trigger
    /// and an added index show by name; a runtime role, which may not make the scratch schema,
    /// compares the migrations only.
    @Test func doctorFindsASchemaChangedOutsideCloak() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let healthy = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        #expect(healthy.isHealthy && healthy.findings.contains { $0.check == "schema" && $0.message.contains("every table, index and trigger") },
                "\(healthy.findings.map(\.message))")
        try fixture.tamper("DROP TRIGGER events_are_never_deleted ON events")
        try fixture.tamper("CREATE INDEX sneaky ON clients (client_id)")
        let checkup = Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)])
        let schema = checkup.findings.filter { $0.check == "schema" && $0.severity == .problem }
        #expect(schema.map(\.subject) == ["sneaky", "events_are_never_deleted"] || Set(schema.compactMap(\.subject)) == ["sneaky", "events_are_never_deleted"],
                "\(schema.map(\.message))")
        let session = (fixture.vault.vault.store as! PostgresVaultStore).session
        let scratch = try session.rows("SELECT count(*) AS n FROM pg_namespace WHERE nspname LIKE 'cloakroom_shipped_%'", []) { $0.integer("n") }
        #expect(scratch == [0], "the scratch schema was rolled back")

        let schemaName = try PostgresLocation(fixture.path, environment: { _ in nil }).schema
        for grant in PostgresVaultStore.runtimeGrants(schema: schemaName, role: "cloak_runtime") { try fixture.tamper(grant) }
        let runtime = Checkup.examine(path: fixture.path.replacingOccurrences(of: "cloak_owner@", with: "cloak_runtime@"),
                                      credentials: [.keyFile(fixture.keyFile)])
        #expect(runtime.findings.contains { $0.check == "schema" && $0.severity == .ok }, "\(runtime.findings.map(\.message))")
    }

    @Test func aNewerSchemaIsRefusedAndNothingIsWritten() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.tamper("INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (99, '0099_future.sql', 'x', 0)")
        #expect { _ = try Vault.open(at: fixture.path) } throws: { ($0 as? VaultError)?.code == .newerSchema }
    }

    /// The owner makes the vault; a runtime role given only the printed GRANTs uses it (tokens,
    /// clients) and can change no table's shape.
    @Test func aRuntimeRoleWithTheGrantsUsesTheVaultButRunsNoDDL() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let schema = try PostgresLocation(fixture.path, environment: { _ in nil }).schema
        for grant in PostgresVaultStore.runtimeGrants(schema: schema, role: "cloak_runtime") { try fixture.tamper(grant) }
        let runtimeURL = fixture.path.replacingOccurrences(of: "cloak_owner@", with: "cloak_runtime@")
        let vault = try Vault.open(at: runtimeURL).unlock(with: [.keyFile(fixture.keyFile)])
        #expect(try vault.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        try vault.addClient(ClientRef("prod/shipping"), ClientSettings(clientID: "shipping-svc"), secret: ClientSecret("fake-shipping-secret"))
        let session = (vault.vault.store as! PostgresVaultStore).session
        #expect { try session.execute(script: "ALTER TABLE clients ADD COLUMN sneaky text") } throws: { error in
            (error as? VaultError)?.code == .permissions
        }
        #expect { try session.execute(script: "DROP TABLE events") } throws: { ($0 as? VaultError)?.code == .permissions }
    }

    /// Two sessions stand for two hosts: a lock one holds, the other waits for; a release wakes
    /// it; a holder whose session dies releases what it held.
    @Test func locksAreSharedByEverySessionAndReleasedWithADeadOne() async throws {
        let fixture = try Fixture(.postgresql)
        let other = try Vault.open(at: fixture.path)
        let (mine, theirs) = (fixture.vault.vault.store.locks, other.store.locks)
        guard let held = try await mine.acquire("token-a", until: .now + .seconds(5)) else {
            Issue.record("a free lock was not taken")
            return
        }
        #expect(try await theirs.acquire("token-a", until: .now + .milliseconds(300)) == nil)
        #expect(try await theirs.acquire("token-b", until: .now + .seconds(5)) != nil)
        async let waiter = theirs.acquire("token-a", until: .now + .seconds(10)) != nil
        try await Task.sleep(for: .milliseconds(200))
        _ = consume held
        #expect(try await waiter)

        // A third session takes a lock and dies (its connection closes without a release).
        var dying: Vault? = try Vault.open(at: fixture.path)
        guard let orphan = try await dying!.store.locks.acquire("rotate-x", until: .now + .seconds(5)) else {
            Issue.record("a free lock was not taken")
            return
        }
        #expect(try await theirs.acquire("rotate-x", until: .now + .milliseconds(300)) == nil)
        dying = nil  // its session closes without releasing anything
        #expect(try await theirs.acquire("rotate-x", until: .now + .seconds(10)) != nil)
        _ = consume orphan
    }

    @Test func anotherSessionsCommitIsNoticedAndOnesOwnIsNot() async throws {
        let fixture = try Fixture(.postgresql)
        let watcher = try Vault.open(at: fixture.path)
        let start = try watcher.store.changesByOthers()
        try watcher.store.write { try watcher.store.realms.forgetDiscovery(realmRowID: nil) }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try watcher.store.changesByOthers() == start, "its own commit was counted")
        try fixture.populate()
        var seen = start
        for _ in 0..<50 where seen == start {
            try await Task.sleep(for: .milliseconds(100))
            seen = try watcher.store.changesByOthers()
        }
        #expect(seen > start)
    }

    /// The server ends the store's session (as a restart or an administrator does; ending one
    /// backend leaves the other tests' sessions alone): the next read and write reconnect, the
    /// locks work on the new connection, and a long-running owner is told things may have changed.
    @Test func aSessionTheServerEndedIsReplacedBetweenTransactions() async throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let vault = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        let store = vault.vault.store as! PostgresVaultStore
        let before = try store.changesByOthers()
        let pid = try store.session.row("SELECT pg_backend_pid() AS pid", [], read: { $0.integer("pid") })!
        try fixture.tamper("SELECT pg_terminate_backend(\(pid))")
        for _ in 0..<100 where store.session.isConnected { try await Task.sleep(for: .milliseconds(20)) }
        try #require(!store.session.isConnected, "the server did not end the session")

        #expect(try vault.currentSecret(of: ClientRef("prod/orders")).testValue == "fake-orders-secret")
        try vault.removeClient(ClientRef("prod/billing"))
        #expect(try store.changesByOthers() > before, "a reconnect must count as a change")
        guard let lock = try await store.locks.acquire("token-after-reconnect", until: .now + .seconds(5)) else {
            Issue.record("no lock after the reconnect")
            return
        }
        _ = consume lock
    }

    /// A session that may only read (as one connected to a standby by mistake) is told so, and
    /// what to change in the URL; nothing is written.
    @Test func aReadOnlyServerIsAClearErrorAndNothingIsWritten() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let before = try fixture.contents()
        let session = (fixture.vault.vault.store as! PostgresVaultStore).session
        try session.execute(script: "SET default_transaction_read_only = on")  // what a standby enforces
        #expect { try fixture.vault.removeClient(ClientRef("prod/orders")) } throws: { error in
            let error = error as! VaultError
            return error.code == .permissions && error.message.contains("standby") && error.message.contains("target_session_attrs=read-write")
        }
        try session.execute(script: "SET default_transaction_read_only = off")
        #expect(try fixture.contents() == before)
    }

    /// Many hosts rotating a team vault wait for one another only at the audit log: a write
    /// scoped to one client (the rotation journal's steps) runs while another client's is open,
    /// waits for one of the same client and for any unscoped write, and the audit events both
    /// append form one chain. (Before, every write held one lock from BEGIN to COMMIT, and three
    /// agents rotated no faster than one.)
    @Test func writesOfDifferentClientsRunAtOnceAndTheAuditLogStaysOneChain() throws {
        let fixture = try Fixture(.postgresql)
        try fixture.populate()
        let (orders, billing) = (try ClientRef("prod/orders"), try ClientRef("prod/billing"))
        nonisolated(unsafe) let other = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
        let ordersRow = try other.vault.client(orders).rowID
        let eventsBefore = try fixture.vault.verifyAuditLog().eventCount
        let started = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var holderError: (any Error)?
        let holder = Thread {
            do {
                try other.vault.store.write(durable: true, clients: [ordersRow]) {
                    try other.vault.store.clients.setIdPUUID("uuid-of-orders", rowID: ordersRow)
                    try other.stampClient(rowID: ordersRow)
                    started.signal()
                    finish.wait()
                    // Appended after the other host's event, which committed meanwhile.
                    try other.record(.rotationPrepared, realm: orders.realm, client: orders.name, detail: "by the other host")
                }
            } catch {
                holderError = error
                started.signal()
            }
        }
        holder.start()
        started.wait()
        let store = fixture.vault.vault.store
        func briefly<T>(_ body: () throws -> T) throws -> T { try store.waitingForWriteLock(upTo: .milliseconds(300), body) }
        do {
            defer { finish.signal() }
            // Another client: not kept waiting (its prepare appends to the audit log and commits).
            _ = try briefly { try fixture.vault.prepareRotation(of: billing, mode: .chosen, secret: ClientSecret("fake-billing-next")) }
            // The same client, or a write not scoped to clients: wait, here until busy.
            let sameClient = Result { try briefly { try fixture.vault.prepareRotation(of: orders, mode: .chosen, secret: ClientSecret("fake-orders-next")) } }
            #expect(sameClient.busy, "\(sameClient)")
            let unscoped = Result { try briefly { try store.write { try store.realms.forgetDiscovery(realmRowID: nil) } } }
            #expect(unscoped.busy, "\(unscoped)")
        }
        while holder.isExecuting || !holder.isFinished { usleep(10_000) }
        #expect(holderError == nil, "\(String(describing: holderError))")
        let audit = try fixture.vault.verifyAuditLog()
        #expect(audit.problems.isEmpty, "\(audit.problems.map(\.message))")
        #expect(audit.eventCount == eventsBefore + 2)
        #expect(try fixture.vault.events().last?.detail == "by the other host")
        #expect(Checkup.examine(path: fixture.path, credentials: [.keyFile(fixture.keyFile)]).isHealthy)
    }

    @Test func aWriterWaitsForTheWriteLockThenReportsBusy() throws {
        let fixture = try Fixture(.postgresql)
        nonisolated(unsafe) let other = try Vault.open(at: fixture.path)
        let started = DispatchSemaphore(value: 0)
        let finish = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? other.store.write {
                started.signal()
                finish.wait()
            }
        }
        holder.start()
        started.wait()
        defer { finish.signal() }
        let store = fixture.vault.vault.store
        #expect {
            try store.waitingForWriteLock(upTo: .milliseconds(200)) { try store.write { try store.realms.forgetDiscovery(realmRowID: nil) } }
        } throws: { ($0 as? VaultError)?.code == .busy }
    }
}
extension Result {
    /// Whether it failed because a lock was held elsewhere.
    fileprivate var busy: Bool {
        if case .failure(let error) = self { return (error as? VaultError)?.code == .busy }
        return false
    }
}
#endif
