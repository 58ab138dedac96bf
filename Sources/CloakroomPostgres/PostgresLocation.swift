internal import CloakroomStore

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Where a PostgreSQL vault is, from a libpq-style URL:
///
///     postgresql://USER@HOST[:PORT][,HOST[:PORT]…]/DATABASE?schema=NAME&sslmode=verify-full&sslrootcert=FILE
///
/// Parameters: `schema` (default `cloakroom`: one database can hold several vaults), `sslmode`
/// (`verify-full`, the default; `verify-ca`; `require`; `disable`), `sslrootcert`, `sslcert`,
/// `sslkey`, `host` (a Unix socket directory, as libpq takes it), `target_session_attrs`
/// (`any` or `read-write`), `connect_timeout` (seconds) and `allow_plaintext=1`.
///
/// A password in the URL is refused: URLs end up in argv, shell history and process listings.
/// It comes from the password file libpq reads (`PGPASSFILE`, else `~/.pgpass`), or a client
/// certificate replaces it. Plain TCP (`sslmode=disable`, or `require`, which does not check who
/// answers) is for loopback and Unix sockets only, unless `allow_plaintext=1` says otherwise: the
/// same rule as for token URLs.
package struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    package struct Host: Sendable, Equatable {
        /// A host name or address, or (starting with `/`) the directory of a Unix socket.
        package var name: String
        package var port: Int

        package var isUnixSocket: Bool { name.hasPrefix("/") }
        /// Loopback: nothing on the network can see or change what is sent.
        package var isLoopback: Bool {
            isUnixSocket || name == "localhost" || name == "::1" || name == "[::1]" || name.hasPrefix("127.")
        }
    }

    package enum SSLMode: String, Sendable, Equatable {
        case disable, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    package var hosts: [Host]
    package var user: String
    package var database: String
    package var schema: String
    package var sslMode: SSLMode
    package var rootCertificate: String?
    package var clientCertificate: String?
    package var clientKey: String?
    /// Only a server that accepts writes will do (`target_session_attrs=read-write`): with
    /// several hosts, the one that is primary now.
    package var readWrite: Bool
    package var connectTimeout: Duration
    /// How long any statement waits for a lock (the server's `lock_timeout`), set by the store
    /// to its busy timeout: not from the URL.
    package var lockTimeout: Duration = .seconds(10)
    /// As given, for messages: it holds no secret (a password in it is refused).
    package var text: String

    package var description: String { text }

    /// - Parameter environment: `PGUSER`, `PGPORT`, `USER` (defaults as libpq takes them).
    /// - Throws: `StoreError` `.invalidLocation` saying what is wrong.
    package init(_ text: String, environment: (String) -> String? = { getenv($0).map { String(cString: $0) } }) throws {
        func invalid(_ why: String) -> StoreError {
            StoreError(kind: .invalidLocation, path: Self.withoutQuery(text), message: why)
        }
        guard StoreLocation.isPostgreSQL(text) else {
            throw invalid("a PostgreSQL vault is named postgresql://USER@HOST/DATABASE")
        }
        self.text = text
        var rest = text.drop(while: { $0 != ":" }).dropFirst(3)
        var query = Substring("")
        if let mark = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: mark)...]
            rest = rest[..<mark]
        }
        var path = Substring("")
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var user: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            guard !userInfo.contains(":") else {
                throw invalid("the URL holds a password; remove it and put it in the password file (PGPASSFILE, else ~/.pgpass), or use a client certificate")
            }
            user = try Self.percentDecoded(userInfo) ?? { throw invalid("the user name is not valid percent-encoding") }()
            rest = rest[rest.index(after: at)...]
        }
        let defaultPort = environment("PGPORT").flatMap { Int($0) } ?? 5432
        var hosts: [Host] = []
        for part in rest.split(separator: ",", omittingEmptySubsequences: false) where !(part.isEmpty && rest.isEmpty) {
            hosts.append(try Self.host(part, defaultPort: defaultPort, invalid: invalid))
        }
        var options: [String: String] = [:]
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let key = Self.percentDecoded(parts[0]), let value = Self.percentDecoded(parts[1]) else {
                throw invalid("\"\(pair)\" is not NAME=VALUE")
            }
            guard Self.parameters.contains(key) else {
                throw invalid("unknown parameter \"\(key)\" (known: \(Self.parameters.sorted().joined(separator: ", ")))")
            }
            options[key] = value
        }
        if let socket = options["host"] {
            guard socket.hasPrefix("/") else { throw invalid("host= takes the directory of a Unix socket, starting with /") }
            hosts = [Host(name: socket, port: hosts.first?.port ?? defaultPort)]
        }
        guard !hosts.isEmpty else { throw invalid("no host; name one, e.g. postgresql://USER@127.0.0.1:5432/DATABASE") }
        self.hosts = hosts
        self.user = user ?? environment("PGUSER") ?? environment("USER") ?? "postgres"
        database = try Self.percentDecoded(path) ?? { throw invalid("the database name is not valid percent-encoding") }()
        if database.isEmpty { database = self.user }
        schema = options["schema"] ?? "cloakroom"
        guard Self.isValidSchema(schema) else {
            throw invalid("schema \"\(schema)\" is not a lower-case SQL name ([a-z_][a-z0-9_]*, at most 63 characters)")
        }
        guard let mode = SSLMode(rawValue: options["sslmode"] ?? "verify-full") else {
            throw invalid("sslmode is one of disable, require, verify-ca, verify-full (the default)")
        }
        sslMode = mode
        rootCertificate = options["sslrootcert"]
        clientCertificate = options["sslcert"]
        clientKey = options["sslkey"]
        guard (clientCertificate == nil) == (clientKey == nil) else { throw invalid("sslcert and sslkey go together") }
        switch options["target_session_attrs"] ?? "any" {
        case "any": readWrite = false
        case "read-write": readWrite = true
        default: throw invalid("target_session_attrs is any or read-write")
        }
        guard let timeout = Double(options["connect_timeout"] ?? "10"), timeout > 0, timeout <= 3600 else {
            throw invalid("connect_timeout is a number of seconds, from more than 0 to 3600")
        }
        connectTimeout = .milliseconds(Int64(timeout * 1000))
        let allowsPlaintext = options["allow_plaintext"] == "1"
        if mode == .disable || mode == .require, !allowsPlaintext, let exposed = hosts.first(where: { !$0.isLoopback }) {
            throw invalid("sslmode=\(mode.rawValue) to \(exposed.name) would send the vault's rows unverified over the network; use verify-full (the default), or add allow_plaintext=1 if that network is trusted")
        }
    }

    private static let parameters: Set<String> = [
        "schema", "sslmode", "sslrootcert", "sslcert", "sslkey", "host", "target_session_attrs", "connect_timeout", "allow_plaintext",
    ]

    private static func host(_ part: Substring, defaultPort: Int, invalid: (String) -> StoreError) throws -> Host {
        var name = part
        var port = defaultPort
        if name.hasPrefix("[") {
            guard let close = name.firstIndex(of: "]") else { throw invalid("\"\(part)\": an IPv6 address ends with ]") }
            let after = name[name.index(after: close)...]
            name = name[name.index(after: name.startIndex)..<close]
            if after.hasPrefix(":") {
                guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw invalid("\"\(part)\": bad port") }
                port = number
            }
        } else if let colon = name.lastIndex(of: ":") {
            guard let number = Int(name[name.index(after: colon)...]), (1...65535).contains(number) else {
                throw invalid("\"\(part)\": the port is a number from 1 to 65535")
            }
            port = number
            name = name[..<colon]
        }
        guard !name.isEmpty, let decoded = percentDecoded(name) else { throw invalid("\"\(part)\" is not a host") }
        return Host(name: decoded, port: port)
    }

    /// A lower-case SQL name: no quoting is ever needed to use it.
    package static func isValidSchema(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63, first == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first) else {
            return false
        }
        return bytes.allSatisfy { $0 == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// `text` for a message: without its query, and without the password a mistaken URL holds.
    private static func withoutQuery(_ text: String) -> String {
        let head = text.prefix { $0 != "?" }
        guard let scheme = head.firstIndex(of: "/"), let at = head.lastIndex(of: "@"),
              let colon = head[scheme..<at].firstIndex(of: ":") else { return String(head) }
        return String(head[..<colon]) + ":…" + head[at...]
    }
}
