#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// An access token and what is known of it. The token itself prints as `<redacted>`: it is a
/// bearer credential, and only the command asked to print it may.
public struct AccessToken: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The token, for the one place that sends or prints it.
    public let value: String
    /// `Bearer` (compared case-insensitively when received, always spelled so here).
    public let tokenType: String
    /// When Cloakroom stops using it: the time the request was sent plus `expires_in`, and never
    /// later than the JWT's `exp`.
    public let expiresAt: Date
    /// When it was requested, so the fraction of its life used can be told.
    public let issuedAt: Date
    /// The scopes granted, as the server said (space-separated), if it said.
    public let scope: String?

    /// A token and its times, for tests and for tokens from elsewhere.
    /// - Parameter value: the token as the server issued it.
    /// - Parameter tokenType: always `Bearer` for tokens Cloakroom fetched.
    /// - Parameter expiresAt: when to stop using it.
    /// - Parameter issuedAt: when it was requested: the start of its life for the broker's early refresh.
    /// - Parameter scope: the scopes granted (space-separated), if the server said.
    public init(value: String, tokenType: String = "Bearer", expiresAt: Date, issuedAt: Date, scope: String?) {
        self.value = value
        self.tokenType = tokenType
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.scope = scope
    }

    /// Seconds left at `now` (negative once expired).
    public func remaining(at now: Date) -> Duration { .seconds(expiresAt.timeIntervalSince(now)) }

    /// `AccessToken(<redacted>, expires …)`: the expiry, never the token.
    public var description: String { "AccessToken(<redacted>, expires \(expiresAt))" }
    /// The same as `description`.
    public var debugDescription: String { description }
    /// A mirror showing only `expiresAt`.
    public var customMirror: Mirror { Mirror(self, children: ["expiresAt": expiresAt], displayStyle: .struct) }
}

/// What a token endpoint answered, checked against RFC 6749 §5 and the quirks of real servers.
enum TokenResponse {
    /// How long a token without `expires_in` (and without a JWT `exp`) is used: RFC 6749 makes
    /// the field optional, and a short guess only costs an extra request now and then.
    static let assumedLifetime: TimeInterval = 60

    /// The largest body read from a token endpoint. Real responses are a few KB.
    static let maximumBodySize = 256 * 1024

    /// Parses a 200 response sent at `sentAt`.
    /// - Throws: `TokenError.malformedResponse` for anything that is not a usable token.
    static func token(from body: [UInt8], sentAt: Date) throws(TokenError) -> AccessToken {
        guard case .object(let object)? = JSONReader.read(body) else {
            throw .malformedResponse("the token endpoint answered 200 without a JSON object")
        }
        guard let value = object["access_token"]?.string, !value.isEmpty else {
            throw .malformedResponse("the token response has no access_token")
        }
        guard value.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw .malformedResponse("the access_token holds characters a bearer token cannot (RFC 6750 §2.1)")
        }
        let tokenType = object["token_type"]?.string ?? ""
        guard tokenType.lowercased() == "bearer" else {
            // Escaped: the server's text reaches the terminal (found by fuzzing).
            throw .malformedResponse("the token endpoint issued a '\(tokenType.prefix(20).escapingControlCharacters)' token; only Bearer tokens are supported")
        }
        var expiresAt = sentAt.addingTimeInterval(assumedLifetime)
        let jwtExpiry = JWT(value)?.expiresAt
        if let field = object["expires_in"], field != .null {
            guard let expiresIn = field.number, expiresIn > 0, expiresIn < 10 * 365 * 86_400 else {
                throw .malformedResponse("the token response has an unusable expires_in; it must be a positive number of seconds")
            }
            expiresAt = sentAt.addingTimeInterval(expiresIn)
        } else if let jwtExpiry {
            expiresAt = jwtExpiry
        }
        if let jwtExpiry, jwtExpiry < expiresAt { expiresAt = jwtExpiry }
        return AccessToken(value: value, tokenType: "Bearer", expiresAt: expiresAt, issuedAt: sentAt, scope: object["scope"]?.string)
    }

    /// The `error` and `error_description` of an error body (RFC 6749 §5.2), when it has them.
    /// Servers also answer with empty, HTML or plain-text bodies; those give `nil`s.
    static func error(from body: [UInt8]) -> (code: String?, description: String?) {
        guard case .object(let object)? = JSONReader.read(body) else { return (nil, nil) }
        func printable(_ text: String?) -> String? {
            // Shown to the user: kept short and free of control characters; never the body itself.
            text.map { String($0.unicodeScalars.filter { !$0.isControlCharacter }.prefix(200).map(Character.init)) }
        }
        return (printable(object["error"]?.string), printable(object["error_description"]?.string))
    }
}
