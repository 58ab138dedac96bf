public import CloakroomCrypto

/// A client secret in clear, held in secure memory.
///
/// It prints as `<redacted>` everywhere (`description`, `debugDescription`, mirrors,
/// string interpolation), is not `Codable`, and can be read only through `withUnsafeBytes`.
public struct ClientSecret: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let bytes: SecureBytes

    /// The longest secret accepted. Keycloak stores secrets in a 255-character column; other
    /// servers use up to a few hundred bytes. Anything longer is a paste gone wrong.
    public static let maximumLength = 4096

    /// - Throws: `VaultError.invalidInput` for an empty or too long secret, or one with control
    ///   characters (a second line pasted by mistake, a NUL byte).
    package init(validating bytes: SecureBytes) throws {
        guard bytes.count > 0 else {
            throw VaultError(.invalidInput, "the client secret is empty; nothing was stored.")
        }
        guard bytes.count <= Self.maximumLength else {
            throw VaultError(.invalidInput, "the client secret is longer than \(Self.maximumLength) bytes; nothing was stored.")
        }
        let clean = bytes.withUnsafeBytes { raw in
            !raw.contains { $0 < 0x20 || $0 == 0x7f } && String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) != nil
        }
        guard clean else {
            throw VaultError(.invalidInput, "the client secret contains a control character or invalid UTF-8 (a second line?); nothing was stored.")
        }
        self.bytes = bytes
    }

    /// A secret from a string, for services that receive theirs from elsewhere.
    /// - Throws: `VaultError.invalidInput` for an empty secret, one longer than `maximumLength`
    ///   bytes, or one with a control character.
    public init(_ text: String) throws {
        try self.init(validating: SecureBytes(copying: Array(text.utf8)))
    }

    /// Reads a secret from `fd`: a pipe or file to its end, a terminal (`line`) to the end of the
    /// line. One trailing newline (`\n` or `\r\n`) is removed, so `echo "$S" | cloak client add …`
    /// stores what was meant; a second newline is an error, not part of the secret.
    /// - Throws: `VaultError.invalidInput` for a secret that is empty, too long or holds a control
    ///   character, or for a descriptor that is not open or is a directory; `.io` on a read error.
    public static func read(from fd: Int32, line: Bool = false) throws -> ClientSecret {
        try ClientSecret(validating: SecureInput.bytes(from: fd, limit: maximumLength + 2, what: "the client secret", line: line))
    }

    /// The secret's length in bytes.
    public var count: Int { bytes.count }

    /// The secret's bytes, for the one place that sends it to the identity provider.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// A mirror with no children, so that `dump` and debuggers show nothing of the secret.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
