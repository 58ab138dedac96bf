import CloakroomCrypto

/// The bundle harness. A random file almost never passes the checksum, and never the AEAD tag,
/// so the input is used three ways: as a file; as a file whose trailing checksum is made right
/// (to reach the header's fields and the key-file check); and as a payload that has passed
/// authentication (what a holder of the bundle's key controls). A payload that decodes must
/// come back unchanged through encode → seal → open → decode.
enum FuzzBundle {
    /// The key file fuzz bundles are sealed with. `Fuzz/fuzz.key` holds the same 32 (fake,
    /// public) bytes, so `cloak export --bundle-key-file Fuzz/fuzz.key` makes seeds it opens.
    static let keyBytes = Array("cloakroom-fuzz-key-not-a-secret!".utf8)
    static let key = KeyFile(path: "Fuzz/fuzz.key", key: SealingKey(SecureBytes(copying: keyBytes)))

    static func run(_ data: UnsafeRawBufferPointer, _ violations: inout Violations) {
        var bytes = Array(data)
        file(bytes, &violations)
        if bytes.count > SealedBundle.checksumCount {
            let body = bytes.count - SealedBundle.checksumCount
            bytes.replaceSubrange(body..., with: BundleKey.checksum(bytes[..<body]))
            file(bytes, &violations)
        }
        payload(data, &violations)
    }

    /// The payload of a bundle file sealed with `key`, for seeding the corpus (`cloak-fuzz payload`).
    static func payload(ofBundle bytes: [UInt8]) throws -> [UInt8] {
        try SealedBundle(bytes, source: "bundle").open(with: .keyFile(key)).encoded().withUnsafeBytes { Array($0) }
    }

    private static func file(_ bytes: [UInt8], _ violations: inout Violations) {
        do {
            let bundle = try SealedBundle(bytes, source: "fuzz.bundle").open(with: .keyFile(key))
            check(bundle, &violations)
        } catch let error as VaultError {
            violations.check(!hasControlCharacters(error.message), "a message with control characters: \(error.message.debugDescription)")
        } catch {
            violations.check(false, "reading a bundle threw \(type(of: error)), not VaultError")
        }
    }

    private static func payload(_ data: UnsafeRawBufferPointer, _ violations: inout Violations) {
        let bundle: CredentialBundle
        do {
            bundle = try CredentialBundle(decoding: SecureBytes(copying: data), from: "fuzz")
        } catch let error as VaultError {
            violations.check(error.code == .corrupted && !hasControlCharacters(error.message),
                             "a malformed payload gave \(error.code): \(error.message.debugDescription)")
            return
        } catch {
            violations.check(false, "decoding a payload threw \(type(of: error)), not VaultError")
            return
        }
        check(bundle, &violations)
        do {
            let again = try CredentialBundle(decoding: bundle.encoded(), from: "re-encoded")
            violations.check(same(bundle, again), "a decoded payload changes when encoded and decoded again")
            let sealed = try SealedBundle.seal(bundle, with: .keyFile(key), cost: .interactive)
            let opened = try SealedBundle(sealed, source: "re-sealed").open(with: .keyFile(key))
            violations.check(same(bundle, opened), "a decoded payload changes when sealed and opened again")
        } catch {
            violations.check(false, "a decoded payload cannot be written again: \(error)")
        }
    }

    /// What the importer relies on: every client's realm is in the bundle, nothing named twice.
    private static func check(_ bundle: CredentialBundle, _ violations: inout Violations) {
        let realms = Set(bundle.realms.map(\.name))
        violations.check(realms.count == bundle.realms.count, "a realm named twice")
        violations.check(Set(bundle.clients.map(\.ref)).count == bundle.clients.count, "a client named twice")
        violations.check(bundle.clients.allSatisfy { realms.contains($0.ref.realm) }, "a client of a realm not in the bundle")
        violations.check(bundle.realms.allSatisfy { $0.keepPrevious >= 0 }, "a negative keep_previous")
        violations.check(bundle.clients.allSatisfy { ($0.rotateEvery ?? 1) > 0 && $0.secret.count > 0 }, "a client with rotate_every ≤ 0 or no secret")
    }

    private static func same(_ a: CredentialBundle, _ b: CredentialBundle) -> Bool {
        a.exportedAt == b.exportedAt && a.realms == b.realms && a.clients.count == b.clients.count
            && zip(a.clients, b.clients).allSatisfy { x, y in
                x.ref == y.ref && x.settings == y.settings && x.rotateEvery == y.rotateEvery && x.secretSince == y.secretSince
                    && x.secret.bytes.isEqual(to: y.secret.bytes)
            }
    }
}
