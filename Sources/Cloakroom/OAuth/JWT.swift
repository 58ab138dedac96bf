#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// The readable parts of a JWS compact token (`header.payload.signature`), decoded but not
/// verified: enough to learn a token's `exp` and to show its claims. Verification against the
/// realm's JWKS is a separate step.
public struct JWT: Sendable {
    /// The header's and payload's JSON objects.
    public let header: [String: JSONValue]
    /// The payload's claims (`exp`, `iss`, `aud`, …), as sent: nothing here is verified.
    public let claims: [String: JSONValue]
    /// The bytes the signature covers (`header.payload`) and the signature itself.
    public let signingInput: [UInt8]
    /// The signature's bytes, base64url-decoded.
    public let signature: [UInt8]

    /// `nil` when `token` is not a JWT (opaque tokens are fine; they just have no claims).
    public init?(_ token: String) {
        // Split on the UTF-8 bytes: `String.split(separator:)` compares Characters, and finding
        // their boundaries was half of reading a token (perf, a bulk rotation's verifications).
        let dot = UInt8(ascii: "."), utf8 = token.utf8
        guard let first = utf8.firstIndex(of: dot),
              let second = utf8[utf8.index(after: first)...].firstIndex(of: dot),
              !utf8[utf8.index(after: second)...].contains(dot),
              let header = Self.object(token[..<first]), let claims = Self.object(token[utf8.index(after: first)..<second]),
              let signature = Base64.decode(token[utf8.index(after: second)...])
        else { return nil }
        self.header = header
        self.claims = claims
        self.signingInput = Array(utf8[..<second])
        self.signature = signature
    }

    /// `exp` as a date, when present and numeric: clamped to years 1970–9999, NaN read as 1970 (expired).
    /// Any JSON number can arrive, and the token cache keeps expiry as Int64 milliseconds, whose
    /// conversion traps beyond ±9.2e15 s or on NaN (found by fuzzing: `"exp": 1e300`).
    public var expiresAt: Date? {
        claims["exp"]?.number.map { Date(timeIntervalSince1970: $0.isNaN ? 0 : min(max($0, 0), Date.latestISO8601)) }
    }

    private static func object(_ part: Substring) -> [String: JSONValue]? {
        guard let bytes = Base64.decode(part), case .object(let object)? = JSONReader.read(bytes) else {
            return nil
        }
        return object
    }
}

/// Any JSON value, for bodies whose shape is not ours to fix (token responses, JWT claims).
public enum JSONValue: Sendable, Equatable, Decodable {
    /// A JSON string.
    case string(String)
    /// A JSON number, as a `Double`.
    case number(Double)
    /// `true` or `false`.
    case bool(Bool)
    /// `null`.
    case null
    /// A JSON array.
    case array([JSONValue])
    /// A JSON object.
    case object([String: JSONValue])

    /// Decodes any JSON value.
    /// - Throws: `DecodingError` when the input is not JSON.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let array = try? container.decode([JSONValue].self) { self = .array(array) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    /// The string, when this is one.
    public var string: String? { if case .string(let text) = self { text } else { nil } }

    /// A number, or a string holding one (some servers send `"expires_in": "3600"`).
    public var number: Double? {
        switch self {
        case .number(let number): number
        case .string(let text): Double(text)
        default: nil
        }
    }

    /// A string or an array of strings (`aud` may be either).
    public var strings: [String] {
        switch self {
        case .string(let text): [text]
        case .array(let items): items.compactMap(\.string)
        default: []
        }
    }
}
