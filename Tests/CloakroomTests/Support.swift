import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom
#if PostgreSQL
@testable import CloakroomPostgres
#endif

/// A fixed clock for tests: time moves only when the test says so.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { lock.withLock { current } }
    func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// Where a test's vault lives. The behavioural suites run on every backend this build and
/// machine have: SQLite always; PostgreSQL when built with the trait and `scripts/test.sh` (through
/// `scripts/with-postgres.sh`) started a throwaway cluster, each vault in a schema of its own.
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgresql

    static let all: [Backend] = [.sqlite] + (postgresBase == nil ? [] : [.postgresql])

    var testDescription: String { rawValue }

    /// The cluster's URL (role cloak_owner, TLS verified against the cluster's CA), with the
    /// password file the library reads made known to this process.
    static let postgresBase: String? = {
        #if PostgreSQL
        let environment = ProcessInfo.processInfo.environment
        guard let url = environment["CLOAK_TEST_POSTGRES"], let ca = environment["CLOAK_TEST_POSTGRES_CA"],
              let passwords = environment["CLOAK_TEST_PGPASSFILE"] else { return nil }
        setenv("PGPASSFILE", passwords, 1)
        return url + "?sslrootcert=" + ca
        #else
        return nil
        #endif
    }()

    /// Where a new vault goes: a file in `directory`, or a fresh schema.
    func location(in directory: TemporaryDirectory) -> String {
        switch self {
        case .sqlite: directory.file("vault/vault.db")
        case .postgresql: Self.postgresBase! + "&schema=t_" + Sodium.randomBytes(8).map { String($0, radix: 16) }.joined()
        }
    }
}

/// A vault with a key file in a temporary directory, and helpers to look inside it.
struct Fixture {
    let directory = TemporaryDirectory()
    let keyFile: KeyFile
    let vault: UnlockedVault
    let backend: Backend
    var path: String { vault.vault.path }

    static let tokenURL = "https://idp.example.test/realms/prod/protocol/openid-connect/token"

    init(_ backend: Backend = .sqlite) throws {
        self.backend = backend
        keyFile = try KeyFile.create(at: directory.file("key"))
        vault = try Vault.create(at: backend.location(in: directory), firstKeyslot: .keyFile(keyFile))
    }

    /// Every row of every table, as text, read outside cloak: equal before and after means
    /// nothing changed.
    func contents() throws -> String {
        switch backend {
        case .sqlite: return try RawVault.contents(of: path)
        case .postgresql:
            #if PostgreSQL
            let session = (vault.vault.store as! PostgresVaultStore).session
            let tables = try session.rows(
                "SELECT table_name::text AS name FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1", []) { $0.text("name") }
            return try tables.map { table in
                table + "\n" + (try session.rows("SELECT row_to_json(t)::text AS r FROM \(table) t ORDER BY 1", []) { $0.text("r") }).joined(separator: "\n")
            }.joined(separator: "\n")
            #else
            fatalError("no PostgreSQL in this build")
            #endif
        }
    }

    /// Runs SQL against the vault's rows directly, as someone with the file (or the database) could.
    func tamper(_ sql: String) throws {
        switch backend {
        case .sqlite: try RawVault.execute(path, sql)
        case .postgresql:
            #if PostgreSQL
            for statement in PostgresMigrator.statements(sql) {
                try (vault.vault.store as! PostgresVaultStore).session.execute(script: statement)
            }
            #endif
        }
    }

    /// Adds realm `prod` and clients `prod/orders` and `prod/billing` with fake secrets.
    func populate() throws {
        try vault.addRealm(Name("prod"), RealmSettings(tokenURL: Self.tokenURL))
        try vault.addClient(ClientRef("prod/orders"), ClientSettings(clientID: "orders-svc"), secret: ClientSecret("fake-orders-secret"))
        try vault.addClient(ClientRef("prod/billing"), ClientSettings(clientID: "billing-svc"), secret: ClientSecret("fake-billing-secret"))
    }

    /// Every row of every table, as text: equal before and after means nothing changed.
    static func contents(of path: String) throws -> String { try RawVault.contents(of: path) }

    /// Runs SQL against the vault file directly, as an attacker with the file could.
    static func tamper(_ path: String, _ sql: String) throws { try RawVault.execute(path, sql) }
}

extension ClientSecret {
    /// The clear text, for assertions in tests only.
    var testValue: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}

extension UnlockedVault {
    /// The vault's SQLite connection, for tests that change rows behind cloak's back.
    var database: Database { (vault.store as! SQLiteVaultStore).database }
}
