import CloakroomStore
import Foundation
import CloakroomTestSupport
@testable import Cloakroom

/// A fixed clock for tests: time moves only when the test says so.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    func now() -> Date { lock.withLock { current } }
    func advance(by seconds: TimeInterval) { lock.withLock { current += seconds } }
}

/// A vault with a key file in a temporary directory, and helpers to look inside it.
struct Fixture {
    let directory = TemporaryDirectory()
    let keyFile: KeyFile
    let vault: UnlockedVault
    var path: String { vault.vault.path }

    static let tokenURL = "https://idp.example.test/realms/prod/protocol/openid-connect/token"

    init() throws {
        keyFile = try KeyFile.create(at: directory.file("key"))
        vault = try Vault.create(at: directory.file("vault/vault.db"), firstKeyslot: .keyFile(keyFile))
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
