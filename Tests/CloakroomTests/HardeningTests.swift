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

    /// Item 15: a bundle may not ask for more Argon2id than `--kdf sensitive` writes.
    @Test func bundleCostIsBoundedBySensitive() {
        #expect(Argon2Parameters.sensitive.isWithinBundleLimits)
        #expect(Argon2Parameters.moderate.isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 64, memLimit: 4 << 30).isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 5, memLimit: 1 << 30).isWithinBundleLimits)
        #expect(!Argon2Parameters(opsLimit: 4, memLimit: (1 << 30) + 1).isWithinBundleLimits)
    }
}
