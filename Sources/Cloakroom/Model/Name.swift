/// The name of a realm or of a client within its realm, as the user types it.
///
/// 1 to 63 characters of `a-z 0-9 . _ -`, starting with a letter or digit: safe in a shell,
/// in a file name and in an environment variable's suffix, and never confusable by case.
public struct Name: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The name as typed; always valid.
    public let rawValue: String

    /// The rule in words, for messages that reject a name.
    public static let rule = "1 to 63 characters of a-z, 0-9, '.', '_' and '-', starting with a letter or digit"

    /// - Throws: `VaultError.invalidInput` naming the rule.
    public init(_ text: String, of kind: String = "name") throws {
        guard Self.isValid(text) else {
            // Escaped: a name comes from argv or a file and is echoed to a terminal (found by fuzzing).
            throw VaultError(.invalidInput, "\(kind) '\(text.prefix(80).escapingControlCharacters)' is not allowed: use \(Self.rule).")
        }
        rawValue = text
    }

    init(trusted text: String) { rawValue = text }

    /// `name-n`, cut so that it stays a valid name: how an import or a sync names a second `name`.
    func suffixed(_ n: Int) -> Name {
        let suffix = "-\(n)"
        return Name(trusted: String(rawValue.prefix(63 - suffix.count)) + suffix)
    }

    /// Whether `text` follows ``rule``, without building a name or an error.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func allowed(_ byte: UInt8, first: Bool) -> Bool {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
            case UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): !first
            default: false
            }
        }
        return bytes.enumerated().allSatisfy { allowed($1, first: $0 == 0) }
    }

    /// The name as typed.
    public var description: String { rawValue }
    /// Orders names by their bytes: the order `cloak` lists them in.
    public static func < (a: Name, b: Name) -> Bool { a.rawValue < b.rawValue }
}

/// `REALM/NAME`: how users and services name one client.
public struct ClientRef: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The realm the client belongs to.
    public let realm: Name
    /// The client's name within its realm.
    public let name: Name

    /// The client `name` of realm `realm`.
    public init(realm: Name, name: Name) {
        self.realm = realm
        self.name = name
    }

    /// Parses `REALM/NAME`.
    /// - Throws: `VaultError.invalidInput` with the expected form.
    public init(_ text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw VaultError(.invalidInput, "'\(text.prefix(80).escapingControlCharacters)' does not name a client: write REALM/NAME, e.g. prod/orders.")
        }
        try self.init(realm: Name(String(parts[0]), of: "realm name"), name: Name(String(parts[1]), of: "client name"))
    }

    /// `REALM/NAME`, as users type it.
    public var description: String { "\(realm)/\(name)" }
    /// Orders by realm, then by name.
    public static func < (a: ClientRef, b: ClientRef) -> Bool { (a.realm, a.name) < (b.realm, b.name) }
}
