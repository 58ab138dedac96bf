import CloakroomCrypto
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Realms and clients with their current secrets, taken out of one vault to be merged into
/// another: what a sealed bundle holds once opened (`SealedBundle.open(with:)`), and what
/// `UnlockedVault.bundle(of:)` takes out.
///
/// Only the *current* secret of each client travels: previous versions, the rotation journal,
/// cached tokens and the audit log stay with the vault they belong to (a rollback to a secret
/// from another vault's history would be a surprise, and tokens are fetched again in a moment).
public struct CredentialBundle: Sendable {
    /// When the bundle was taken out of its vault.
    public var exportedAt: Date
    /// The realms, by name.
    public var realms: [BundledRealm]
    /// Ordered by realm and name; each names a realm of `realms`.
    public var clients: [BundledClient]

    /// A bundle of `realms` and `clients`; every client's realm must be among `realms`.
    public init(exportedAt: Date, realms: [BundledRealm], clients: [BundledClient]) {
        self.exportedAt = exportedAt
        self.realms = realms
        self.clients = clients
    }
}

/// A realm as it travels in a bundle. The CA file travels as its path only: copy the file to
/// the same path on the importing machine (the import refuses a realm whose CA file is missing).
public struct BundledRealm: Sendable, Equatable {
    /// Its name in the vault it came from.
    public var name: Name
    /// Its settings: issuer, token URL, admin URL, CA file path, http policy, admin client.
    public var settings: RealmSettings
    /// Seconds a replaced secret is kept (`cloak realm update --keep-previous`).
    public var keepPrevious: Int64
}

/// A client as it travels in a bundle, with its current secret (in secure memory).
public struct BundledClient: Sendable {
    /// Its name in the vault it came from.
    public var ref: ClientRef
    /// Its client_id, authentication method, scopes and audience.
    public var settings: ClientSettings
    /// `cloak client update --rotate-every`, in seconds; `nil`: rotated only when asked.
    public var rotateEvery: Int64?
    /// When the secret became current (stored or rotated), so that `cloak rotate --due` keeps
    /// counting its age in the importing vault rather than starting again.
    public var secretSince: Date
    /// The current secret, in clear in secure memory: sealed anew by the importing vault.
    public var secret: ClientSecret
}

// MARK: The payload's encoding
//
// Inside the seal, a bundle is a compact binary record, written and read by hand so that a
// secret never passes through a Swift String or an ordinary array:
//
//     i64 exported_at (Unix seconds)
//     u32 realm count, then per realm:
//         str name, opt issuer, opt token_url, opt admin_url, opt ca_file,
//         opt admin_client ("REALM/NAME"), u8 allow_http (0|1), i64 keep_previous (seconds)
//     u32 client count, then per client:
//         str realm, str name, str client_id, str auth_method, str scopes (space-separated),
//         opt audience, i64 rotate_every (seconds; 0 = none), i64 secret_since (Unix seconds),
//         u32 secret length
//     the secrets, back to back in client order: the only secret bytes, all at the end
//
// Integers are big-endian; str = u32 length + UTF-8; opt = u8 0 (absent) or 1 followed by a
// str. The metadata is no more secret than the vault's own (anyone with a vault file reads
// it), so it is built in ordinary memory; the whole payload — metadata and secrets — is then
// assembled in one `sodium_malloc` buffer that is zeroed when released, sealed from there,
// and opened into another.

extension CredentialBundle {
    /// The payload, in secure memory.
    func encoded() -> SecureBytes {
        var meta = PayloadWriter()
        meta.integer(exportedAt.unixSeconds)
        meta.count(realms.count)
        for realm in realms {
            meta.string(realm.name.rawValue)
            meta.optional(realm.settings.issuer)
            meta.optional(realm.settings.tokenURL)
            meta.optional(realm.settings.adminURL)
            meta.optional(realm.settings.caFile)
            meta.optional(realm.settings.adminClient?.description)
            meta.byte(realm.settings.allowsInsecureHTTP ? 1 : 0)
            meta.integer(realm.keepPrevious)
        }
        meta.count(clients.count)
        for client in clients {
            meta.string(client.ref.realm.rawValue)
            meta.string(client.ref.name.rawValue)
            meta.string(client.settings.clientID)
            meta.string(client.settings.authMethod.rawValue)
            meta.string(client.settings.scopes.joined(separator: " "))
            meta.optional(client.settings.audience)
            meta.integer(client.rotateEvery ?? 0)
            meta.integer(client.secretSince.unixSeconds)
            meta.count(client.secret.count)
        }
        let total = meta.bytes.count + clients.reduce(0) { $0 + $1.secret.count }
        return SecureBytes(count: total) { out in
            meta.bytes.withUnsafeBytes { out.copyMemory(from: $0) }
            var offset = meta.bytes.count
            for client in clients {
                client.secret.withUnsafeBytes { secret in
                    UnsafeMutableRawBufferPointer(rebasing: out[offset..<offset + secret.count]).copyMemory(from: secret)
                }
                offset += client.secret.count
            }
        }
    }

    /// Reads a payload that has passed authentication. A malformed one can only come from a
    /// holder of the bundle's key (or a bug), and is refused whole.
    /// - Throws: `VaultError.corrupted`.
    init(decoding payload: SecureBytes, from source: String) throws {
        func malformed(_ what: String) -> VaultError {
            VaultError(.corrupted, "the bundle \(source) opened with the right key, but its contents are malformed (\(what)); it was written by a faulty or altered program. Nothing was imported.")
        }
        self = try payload.withUnsafeBytes { raw in
            var reader = PayloadReader(raw, malformed: malformed)
            let exportedAt = try reader.time()
            var realms: [BundledRealm] = []
            for _ in 0..<(try reader.count(minimumSize: 19)) {
                let name = try reader.name()
                let issuer = try reader.optional(), tokenURL = try reader.optional()
                let adminURL = try reader.optional(), caFile = try reader.optional()
                let adminClient = try reader.optional().map { text in
                    guard let ref = try? ClientRef(text) else { throw malformed("admin client '\(text.prefix(80).escapingControlCharacters)'") }
                    return ref
                }
                let allowHTTP = try reader.byte()
                guard allowHTTP <= 1 else { throw malformed("allow_http \(allowHTTP)") }
                let keepPrevious = try reader.integer()
                guard keepPrevious >= 0 else { throw malformed("keep_previous \(keepPrevious)") }
                realms.append(BundledRealm(
                    name: name,
                    settings: RealmSettings(issuer: issuer, tokenURL: tokenURL, adminURL: adminURL, caFile: caFile,
                                            adminClient: adminClient, allowsInsecureHTTP: allowHTTP == 1),
                    keepPrevious: keepPrevious))
            }
            guard Set(realms.map(\.name)).count == realms.count else { throw malformed("a realm named twice") }
            let realmNames = Set(realms.map(\.name))
            struct Entry {
                var ref: ClientRef, settings: ClientSettings, rotateEvery: Int64?, secretSince: Date, secretLength: Int
            }
            var entries: [Entry] = []
            for _ in 0..<(try reader.count(minimumSize: 44)) {
                let ref = ClientRef(realm: try reader.name(), name: try reader.name())
                guard realmNames.contains(ref.realm) else { throw malformed("client \(ref) of a realm not in the bundle") }
                let clientID = try reader.string()
                let method = try reader.string()
                guard let authMethod = AuthMethod(rawValue: method) else { throw malformed("auth method '\(method.prefix(40).escapingControlCharacters)'") }
                let scopes = try reader.string().split(separator: " ").map(String.init)
                let audience = try reader.optional()
                let rotateEvery = try reader.integer()
                guard rotateEvery >= 0 else { throw malformed("rotate_every \(rotateEvery)") }
                let secretSince = try reader.time()
                let secretLength = try reader.count(minimumSize: 0)
                entries.append(Entry(ref: ref, settings: ClientSettings(clientID: clientID, authMethod: authMethod, scopes: scopes, audience: audience),
                                     rotateEvery: rotateEvery == 0 ? nil : rotateEvery, secretSince: secretSince, secretLength: secretLength))
            }
            guard Set(entries.map(\.ref)).count == entries.count else { throw malformed("a client named twice") }
            var clients: [BundledClient] = []
            clients.reserveCapacity(entries.count)
            for entry in entries {
                // A slice of the payload, not a copy: one secure allocation for every secret.
                let start = reader.offset
                _ = try reader.bytes(entry.secretLength)
                guard let secret = try? ClientSecret(validating: SecureBytes(slice: start..<reader.offset, of: payload)) else {
                    throw malformed("the secret of \(entry.ref) is empty, too long or not text")
                }
                clients.append(BundledClient(ref: entry.ref, settings: entry.settings, rotateEvery: entry.rotateEvery,
                                             secretSince: entry.secretSince, secret: secret))
            }
            guard reader.isAtEnd else { throw malformed("bytes after the last secret") }
            return CredentialBundle(exportedAt: exportedAt, realms: realms, clients: clients)
        }
    }
}

/// Appends the payload's integers and strings (metadata only: never a secret).
private struct PayloadWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ value: UInt8) { bytes.append(value) }
    mutating func integer(_ value: Int64) { withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) } }
    mutating func count(_ value: Int) { withUnsafeBytes(of: UInt32(value).bigEndian) { bytes.append(contentsOf: $0) } }

    mutating func string(_ text: String) {
        count(text.utf8.count)
        bytes.append(contentsOf: text.utf8)
    }

    mutating func optional(_ text: String?) {
        byte(text == nil ? 0 : 1)
        if let text { string(text) }
    }
}

/// Reads the payload in place; every length is checked against what is left before use, so
/// no field can make the reader allocate more than the payload's own size.
private struct PayloadReader {
    let raw: UnsafeRawBufferPointer
    var offset = 0
    let malformed: (String) -> VaultError

    init(_ raw: UnsafeRawBufferPointer, malformed: @escaping (String) -> VaultError) {
        self.raw = raw
        self.malformed = malformed
    }

    var isAtEnd: Bool { offset == raw.count }

    mutating func bytes(_ count: Int) throws -> UnsafeRawBufferPointer.SubSequence {
        guard count >= 0, raw.count - offset >= count else { throw malformed("cut short at byte \(offset)") }
        defer { offset += count }
        return raw[offset..<offset + count]
    }

    mutating func byte() throws -> UInt8 { try bytes(1).first! }

    mutating func integer() throws -> Int64 {
        try bytes(8).reduce(0) { $0 << 8 | Int64($1) }
    }

    /// An i64 of Unix seconds that a vault can store and show again: from 1970 to the year 9999.
    /// Beyond that, converting it back to whole seconds traps (`secret_since` of Int64.max once would).
    mutating func time() throws -> Date {
        let seconds = try integer()
        guard (0...Int64(Date.latestISO8601)).contains(seconds) else { throw malformed("a time of \(seconds) seconds since 1970") }
        return Date(unixSeconds: seconds)
    }

    /// A u32 count of items at least `minimumSize` bytes each, so a lying count fails at once.
    mutating func count(minimumSize: Int) throws -> Int {
        let value = Int(try bytes(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        guard value * minimumSize <= raw.count - offset else { throw malformed("a count of \(value) larger than the payload") }
        return value
    }

    mutating func string() throws -> String {
        let length = try count(minimumSize: 1)
        guard let text = String(validating: try bytes(length), as: UTF8.self) else { throw malformed("text that is not UTF-8") }
        return text
    }

    mutating func optional() throws -> String? {
        switch try byte() {
        case 0: nil
        case 1: try string()
        case let flag: throw malformed("an optional field flagged \(flag)")
        }
    }

    mutating func name() throws -> Name {
        let text = try string()
        // Escaped, as every quoted field: the message reaches the terminal (found by fuzzing).
        guard Name.isValid(text) else { throw malformed("the name '\(text.prefix(80).escapingControlCharacters)'") }
        return Name(trusted: text)
    }
}
