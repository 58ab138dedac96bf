import Foundation
import Testing
@testable import Cloakroom

/// Issue 9's reproductions that are best seen below the CLI.
@Suite struct LibraryHardeningTests {
    @Test(arguments: [
        ("127.0.0.1", true), ("127.1.2.3", true), ("127.255.255.255", true), ("localhost", true), ("LOCALHOST", true),
        ("::1", true), ("[::1]", true),
        ("127.evil.example.com", false), ("127.0.0.1.evil.example.com", false), ("localhost.evil.example.com", false),
        ("127.0.0", false), ("127.0.0.256", false), ("127.0.0.1.", false), ("127..0.1", false), ("128.0.0.1", false),
        ("0127.0.0.1", false), ("127.0.0.0x1", false), ("evil-localhost", false), ("::2", false), ("", false),
    ])
    func loopbackIsAnAddressOrExactlyLocalhost(host: String, loopback: Bool) {
        #expect(EndpointURL.isLoopback(host) == loopback)
    }

    @Test(arguments: ["http://127.0.0.1:8080/token", "http://[::1]:8080/token", "http://localhost/token", "https://idp.example.test:443/token"])
    func plainHTTPToLoopbackAndHTTPSAreAccepted(url: String) throws {
        #expect(try EndpointURL.validate(url, as: "the token URL", allowHTTP: false) == url)
    }

    @Test(arguments: [
        "http://127.evil.example.com/token", "https://idp.example.test/to ken", "https://idp.example.test/\r\nHost: x",
        "https://idp.example.test/\u{7F}", "https://idp.example.test/\u{85}", "https://idp.example.test:0/",
        "https://idp.example.test:65536/", "https://idp.example.test:/token",
        "http://127%2E0%2E0%2E1/token", "http://127%01270.0.0.1/token", "https://idp%1B[2J.example.test/token",
    ])
    func hostileURLsAreRefusedWithoutEchoingControlCharacters(url: String) {
        #expect {
            try EndpointURL.validate(url, as: "the token URL", allowHTTP: false)
        } throws: { error in
            guard let error = error as? VaultError, error.code == .invalidInput else { return false }
            return !error.message.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) }
        }
    }

    /// Item 4: a fill that throws used to free the memory, and then `deinit` freed it again.
    @Test func secureBytesWhoseFillThrowsAreFreedOnce() {
        struct Refused: Error {}
        for _ in 0..<1000 {
            #expect(throws: Refused.self) { _ = try SecureBytes(count: 32) { _ in throw Refused() } }
        }
        // The allocator still works: a double free would have aborted or corrupted it by now.
        let after = SecureBytes(copying: Array("fake".utf8))
        #expect(after.count == 4)
    }

    /// A payload whose `secret_since` is no storable time is malformed (it passed authentication,
    /// so only a holder of the bundle's key could write it), not a trap at import (found reading
    /// the fuzz harness's findings).
    @Test(arguments: [Int64.max, Int64.min, -1, Int64(Date.latestISO8601) + 1])
    func bundleTimesBeyondWhatAVaultStoresAreMalformed(seconds: Int64) throws {
        let realm = BundledRealm(name: try Name("prod"), settings: RealmSettings(tokenURL: "https://idp.example.test/token"), keepPrevious: 0)
        let client = BundledClient(ref: try ClientRef("prod/orders"), settings: ClientSettings(clientID: "orders-svc"), rotateEvery: nil,
                                   secretSince: Date(unixSeconds: 1_700_000_000), secret: try ClientSecret("fake-orders-secret"))
        var bytes = CredentialBundle(exportedAt: Date(unixSeconds: 1_700_000_001), realms: [realm], clients: [client])
            .encoded().withUnsafeBytes { Array($0) }
        let since = withUnsafeBytes(of: Int64(1_700_000_000).bigEndian, Array.init)
        let at = try #require((0...bytes.count - 8).first { Array(bytes[$0..<$0 + 8]) == since })
        bytes.replaceSubrange(at..<at + 8, with: withUnsafeBytes(of: seconds.bigEndian, Array.init))
        #expect {
            try CredentialBundle(decoding: SecureBytes(copying: bytes), from: "test")
        } throws: { ($0 as? VaultError)?.code == .corrupted && "\($0)".contains("a time of \(seconds) seconds") }
    }

    /// Item 15: a bundle may not ask for more Argon2id than `--kdf sensitive` writes.
    @Test func bundleCostIsBoundedBySensitive() {
        #expect(Argon2Parameters.sensitive.isWithinBundleLimits)
        #expect(Argon2Parameters.moderate.isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 64, memLimit: 4 << 30).isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 5, memLimit: 1 << 30).isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 4, memLimit: (1 << 30) + 1).isWithinBundleLimits)
    }
}
