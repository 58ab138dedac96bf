import CloakroomStore
import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

@Suite struct FileTests {
    @Test func missingVaultSaysHowToCreateOne() throws {
        let directory = TemporaryDirectory()
        #expect { try Vault.open(at: directory.file("nope.db")) } throws: {
            ($0 as? VaultError)?.code == .notFound && ($0 as? VaultError)?.next == [.createVault]
        }
    }

    @Test func fileThatIsNotSQLiteIsNotAVaultAndIsUntouched() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("notes.txt")
        let bytes = Data("these are not the bytes you are looking for, but there are enough of them\n".utf8)
        try bytes.write(to: URL(fileURLWithPath: path))
        #expect { try Vault.open(at: path) } throws: { ($0 as? VaultError)?.code == .notAVault }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
    }

    @Test func otherSQLiteDatabaseIsNotAVaultAndIsUntouched() throws {
        let directory = TemporaryDirectory()
        let path = directory.file("app.db")
        try Database(path: path, mode: .create, busyTimeout: .seconds(1)).execute(script: "CREATE TABLE t (x); INSERT INTO t VALUES (1)")
        let before = try Fixture.contents(of: path)
        #expect { try Vault.open(at: path) } throws: { ($0 as? VaultError)?.code == .notAVault && "\($0)".contains("not a Cloakroom vault") }
        #expect(try Fixture.contents(of: path) == before)
    }

    /// The identity row binds every sealed value: a vault without it is damaged, said so, and
    /// left as it is (the store's `.missingIdentity`, worded by the domain).
    @Test func vaultWithoutItsIdentityRowIsDamagedAndUntouched() throws {
        let fixture = try Fixture()
        try fixture.tamper("DELETE FROM vault")
        let before = try fixture.contents()
        #expect { try Vault.open(at: fixture.path) } throws: {
            ($0 as? VaultError)?.code == .corrupted && "\($0)".contains("lost its identity row") && "\($0)".contains("backup")
        }
        #expect(try fixture.contents() == before)
    }

    @Test(arguments: [100, 4096, 20_000])
    func truncatedVaultIsReportedAsDamaged(size: Int) throws {
        let fixture = try Fixture()
        try fixture.populate()
        let path = fixture.directory.file("truncated.db")
        try fixture.tamper("PRAGMA wal_checkpoint(TRUNCATE)")  // everything into the main file
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.path))
        try data.prefix(size).write(to: URL(fileURLWithPath: path))
        #expect { try Vault.open(at: path).clients() } throws: { ($0 as? VaultError)?.code == .corrupted }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data.prefix(size))
    }

    /// Every write checkpoints after it commits, so `cp vault.db` between commands — without the
    /// `-wal` file — is a complete copy; and reading the copy does not rewrite it.
    @Test func mainFileAloneIsACompleteCopyAfterEveryWrite() throws {
        let fixture = try Fixture()
        try fixture.populate()
        let path = fixture.directory.file("copy.db")
        let data = try Data(contentsOf: URL(fileURLWithPath: fixture.path))
        try data.write(to: URL(fileURLWithPath: path))
        #expect(try Vault.open(at: path).clients().map(\.ref.description) == ["prod/billing", "prod/orders"])
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == data)
    }

    /// The WAL is emptied once a write is copied into the main file, so it does not grow from one
    /// command to the next. It once did: the first connection to open a vault runs SQLite's WAL
    /// recovery, which forgets how much of the WAL was already copied, so each command's write was
    /// appended to a WAL that never restarted — 8.4 MB after 200 `client add`s, all of it read
    /// again by every command's open (2.5 ms more for `client list` at that size).
    @Test func theWALDoesNotGrowFromOneCommandToTheNext() throws {
        let directory = TemporaryDirectory()
        let keyFile = try KeyFile.create(at: directory.file("key"))
        let path = directory.file("vault.db")
        try Vault.create(at: path, firstKeyslot: .keyFile(keyFile)).addRealm(Name("prod"), RealmSettings(tokenURL: Fixture.tokenURL))
        for n in 0..<8 {
            // A command each: the vault is opened, written once and closed, nobody else holding it.
            try Vault.open(at: path).unlock(with: [.keyFile(keyFile)])
                .addClient(ClientRef("prod/svc-\(n)"), ClientSettings(clientID: "svc-\(n)"), secret: ClientSecret("fake-secret-\(n)"))
            #expect(try Self.walSize(path) == 0, "after write \(n + 1)")
        }
        #expect(try Vault.open(at: path).clients().count == 8)
    }

    /// The checkpoint after a write never waits for other connections: while another process
    /// reads (an agent, a `cloak token`), the write returns at once and the WAL keeps the frames
    /// the reader's snapshot may need; the next write after the reader is done empties it. A
    /// checkpoint that waited would hold every write for the whole busy timeout.
    @Test func aReaderElsewhereNeitherDelaysAWriteNorIsLeftWithAGrowingWAL() throws {
        let directory = TemporaryDirectory()
        let keyFile = try KeyFile.create(at: directory.file("key"))
        let path = directory.file("vault.db")
        try Vault.create(at: path, firstKeyslot: .keyFile(keyFile)).addRealm(Name("prod"), RealmSettings(tokenURL: Fixture.tokenURL))
        // A busy timeout far longer than the test should take: waiting through it would show.
        let vault = try Vault.open(at: path, busyTimeout: .seconds(30)).unlock(with: [.keyFile(keyFile)])
        let reader = try Database(path: path, mode: .readOnly, busyTimeout: .seconds(1))
        let took = try reader.readTransaction {
            _ = try reader.row("SELECT count(*) AS n FROM clients", []) { $0.integer("n") }
            return try ContinuousClock().measure {
                try vault.addClient(ClientRef("prod/svc-1"), ClientSettings(clientID: "svc-1"), secret: ClientSecret("fake-secret-1"))
            }
        }
        #expect(took < .seconds(10), "the write waited for the reader")
        #expect(try Self.walSize(path) > 0, "the reader's snapshot still needed the WAL")
        try vault.addClient(ClientRef("prod/svc-2"), ClientSettings(clientID: "svc-2"), secret: ClientSecret("fake-secret-2"))
        #expect(try Self.walSize(path) == 0)
        #expect(try Vault.open(at: path).clients().count == 2)
    }

    /// The size of the vault at `path`'s `-wal` file.
    static func walSize(_ path: String) throws -> Int {
        try FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as! Int
    }

    @Test func keyFileReadableByOthersIsRefused() throws {
        let directory = TemporaryDirectory()
        let file = try KeyFile.create(at: directory.file("key"))
        chmod(file.path, 0o644)
        #expect { try KeyFile.load(from: file.path) } throws: {
            ($0 as? VaultError)?.code == .permissions && "\($0)".contains("chmod 600")
        }
    }

    @Test(arguments: [0, 31, 33, 64])
    func keyFileOfTheWrongSizeIsRefused(size: Int) throws {
        let directory = TemporaryDirectory()
        let path = directory.file("key")
        _ = FileManager.default.createFile(atPath: path, contents: Data(repeating: 7, count: size), attributes: [.posixPermissions: 0o600])
        #expect { try KeyFile.load(from: path) } throws: { ($0 as? VaultError)?.code == .invalidInput && "\($0)".contains("exactly 32") }
    }

    @Test func existingKeyFileIsNeverOverwritten() throws {
        let directory = TemporaryDirectory()
        let first = try KeyFile.create(at: directory.file("key"))
        #expect { try KeyFile.create(at: first.path) } throws: { ($0 as? VaultError)?.code == .alreadyExists }
        #expect(try KeyFile.load(from: first.path).fingerprint == first.fingerprint)
    }

    @Test func vaultIsNeverCreatedOverAnExistingFile() throws {
        let fixture = try Fixture()
        #expect { try Vault.create(at: fixture.path, firstKeyslot: .keyFile(fixture.keyFile)) } throws: {
            ($0 as? VaultError)?.code == .alreadyExists
        }
        _ = try Vault.open(at: fixture.path).unlock(with: [.keyFile(fixture.keyFile)])
    }
}
