#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// Validation of the URLs a realm stores. Client secrets are sent to these, so a URL that is
/// not plainly an https endpoint of a named host is refused when it is stored, not when used.
enum EndpointURL {
    /// Returns `text` if it is an absolute http(s) URL with a host, no user info and no fragment,
    /// and nothing but printable ASCII (no spaces, no CR/LF: a URL is written into a request
    /// line). Plain http is accepted for loopback hosts, or anywhere when `allowHTTP`.
    static func validate(_ text: String, as what: String, allowHTTP: Bool) throws -> String {
        // Checked before anything quotes the text: a message must not carry control characters.
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw VaultError(.invalidInput, "\(what) contains a space, a control character or a non-ASCII character; a URL has none (percent-encode them, e.g. %20).")
        }
        // A percent-encoded host is refused on the text itself, before a parser sees it: parsers
        // differ on such hosts (FoundationEssentials' URLComponents takes `idp%1B[2J.example`;
        // with full Foundation linked too, as the PostgreSQL trait's postgres-nio does, the same
        // type refuses it as not a URL at all), and the answer must not depend on the build.
        if let start = text.firstRange(of: "://")?.upperBound,
           text[start...].prefix(while: { $0 != "/" && $0 != "?" && $0 != "#" }).split(separator: "@").last?.contains("%") == true {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' has a percent-encoded host; write the host name or address plainly.")
        }
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(),
              let host = url.percentEncodedHost, !host.isEmpty
        else {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' is not an absolute URL such as https://idp.example.com/realms/prod.")
        }
        // `url.host` decodes percent-escapes: `http://127%2E0%2E0%2E1/` would be judged as one host
        // and, depending on the HTTP client, reached as another, and `%1B` would put an escape
        // sequence into this function's own messages (found by fuzzing). No IdP needs an encoded
        // host name, so none is taken.
        guard !host.contains("%") else {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' has a percent-encoded host; write the host name or address plainly.")
        }
        guard url.user == nil, url.password == nil else {
            throw VaultError(.invalidInput, "\(what) must not contain a user name or password; client credentials are stored separately.")
        }
        guard url.fragment == nil else {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' has a #fragment; remove it.")
        }
        if let port = url.port, !(1...65535).contains(port) {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' names port \(port); a port is from 1 to 65535.")
        }
        if url.port == nil, let authority = text.split(separator: "/", maxSplits: 3, omittingEmptySubsequences: false).dropFirst(2).first,
           authority.last == ":" {
            throw VaultError(.invalidInput, "\(what) '\(text.prefix(200))' has a ':' but no port after it.")
        }
        switch scheme {
        case "https":
            return text
        case "http" where allowHTTP || isLoopback(host):
            return text
        case "http":
            throw VaultError(.invalidInput, "\(what) uses plain http to \(host): secrets would cross the network in clear. Use https.", next: [.allowInsecureHTTP])
        default:
            throw VaultError(.invalidInput, "\(what) must use https (or http to loopback), not \(scheme).")
        }
    }

    /// Whether `host` is this machine for certain: an IPv4 address in 127.0.0.0/8 (four decimal
    /// parts), `::1` (bracketed or not), or exactly `localhost`. A prefix test is not enough:
    /// `127.evil.example.com` is a name anyone can register and point anywhere.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "127" else { return false }
        return parts.allSatisfy { part in
            (1...3).contains(part.count) && part.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
                && Int(part).map { $0 <= 255 } == true
        }
    }

    /// Keycloak's admin API base for a realm URL (`…/realms/NAME` or its token endpoint):
    /// `…/admin/realms/NAME`. Keeps any prefix such as Keycloak ≤ 16's `/auth`.
    static func keycloakAdminURL(from text: String) -> String? {
        guard let path = keycloakRealmPath(text) else { return nil }
        var url = path.url
        url.path = "/" + (path.prefix + ["admin", "realms", path.realm]).joined(separator: "/")
        url.query = nil
        return url.string
    }

    /// Keycloak's JWKS for a token URL of its shape (`…/realms/NAME/protocol/openid-connect/token`):
    /// the same path ending in `certs`. `nil` for any other URL.
    static func keycloakJWKSURL(fromTokenURL text: String) -> String? {
        guard var url = URLComponents(string: text), url.query == nil else { return nil }
        let parts = url.path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts.suffix(3) == ["protocol", "openid-connect", "token"], parts[parts.count - 5] == "realms",
              !parts[parts.count - 4].isEmpty
        else { return nil }
        url.path = (parts.dropLast() + ["certs"]).joined(separator: "/")
        return url.string
    }

    /// The Keycloak realm a URL under `…/realms/NAME` belongs to (an issuer, a token endpoint).
    static func keycloakRealm(of text: String) -> String? { keycloakRealmPath(text).map { String($0.realm) } }

    /// The server part of a URL under `…/realms/NAME`: everything before `/realms`.
    static func keycloakServer(of text: String) -> String? {
        guard let path = keycloakRealmPath(text) else { return nil }
        var url = path.url
        url.path = path.prefix.isEmpty ? "" : "/" + path.prefix.joined(separator: "/")
        url.query = nil
        return url.string
    }

    /// A Keycloak issuer's token endpoint: `ISSUER/protocol/openid-connect/token`, for an issuer
    /// that is exactly `…/realms/NAME`.
    static func keycloakTokenURL(issuer text: String) -> String? {
        guard let (url, _, _) = keycloakRealmPath(text), url.query == nil, url.path.split(separator: "/").suffix(2).first == "realms" else { return nil }
        return (text.hasSuffix("/") ? String(text.dropLast()) : text) + "/protocol/openid-connect/token"
    }

    /// The URL, the path before `realms`, and the realm's name.
    private static func keycloakRealmPath(_ text: String) -> (url: URLComponents, prefix: ArraySlice<Substring>, realm: Substring)? {
        guard let url = URLComponents(string: text) else { return nil }
        let parts = url.path.split(separator: "/", omittingEmptySubsequences: true)
        guard let index = parts.lastIndex(of: "realms"), index + 1 < parts.count, parts[index + 1] != "" else { return nil }
        return (url, parts[..<index], parts[index + 1])
    }
}
