public import Cloakroom
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
#if canImport(Glibc)
private let systemConnect = Glibc.connect
private let systemSend = Glibc.send
#elseif canImport(Musl)
private let systemConnect = Musl.connect
private let systemSend = Musl.send
#elseif canImport(Darwin)
private let systemConnect = Darwin.connect
private let systemSend = Darwin.send
#endif
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// `cloak`'s side of the socket: one blocking HTTP/1.1 exchange per connection, no event loop,
/// so that a command that asks the agent costs what a cached token costs, not a thread pool.
public struct AgentClient: ~Copyable {
    private let fd: Int32

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// A connection to the agent at `path`, or `nil` when none answers there.
    static func connect(_ path: String) -> AgentClient? {
        guard !path.hasPrefix("@"), let fd = UnixSocket.make(datagram: false) else { return nil }
        guard UnixSocket.withAddress(path, { systemConnect(fd, $0, $1) }) == 0 else { close(fd); return nil }
        return AgentClient(fd: fd)
    }

    /// An answer from the agent.
    struct Reply {
        var status: Int
        var headers: [String: String]  // names in lower case
        var body: [UInt8]
    }

    /// `METHOD target` (no body), waiting at most `timeout` for the whole answer.
    /// - Throws: `AgentUnreachable` when the exchange fails.
    consuming func send(_ method: String, _ target: String, timeout: Duration) throws -> Reply {
        var limit = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        let request = Array("\(method) \(target) HTTP/1.1\r\nHost: cloak-agent\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { systemSend(fd, $0.baseAddress, $0.count, Self.noSignal) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else { throw AgentUnreachable() }
            sent += n
        }
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while received.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0, errno == EINTR { continue }
            guard n >= 0 else { throw AgentUnreachable() }
            if n == 0 { break }
            received.append(contentsOf: chunk[..<n])
        }
        return try Self.parse(received)
    }

    static func parse(_ bytes: [UInt8]) throws -> Reply {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<$0 + 4].elementsEqual(separator) }) else { throw AgentUnreachable() }
        let lines = String(decoding: bytes[..<end], as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false)
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else { throw AgentUnreachable() }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = String(line[line.index(after: colon)...].drop { $0 == " " || $0 == "\t" })
        }
        var body = Array(bytes[(end + 4)...])
        if let length = headers["content-length"].flatMap(Int.init) {
            guard body.count >= length else { throw AgentUnreachable() }
            body = Array(body.prefix(length))
        }
        return Reply(status: status, headers: headers, body: body)
    }

    struct AgentUnreachable: Error {}

    /// A write to a closed connection fails with EPIPE instead of killing the process.
    #if os(Linux)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #else
    private static let noSignal: Int32 = 0  // Darwin sets SO_NOSIGPIPE instead (not needed: the CLI ignores no signal here)
    #endif
}

/// A token from the agent serving this vault, as `cloak token` and `cloak exec` ask for one.
public enum AgentToken {
    /// Whether the agent's vault (its `Cloakroom-Vault` header) is the file at `vaultPath`: the
    /// same path, or the same file by another spelling (a symbolic link, `..`), as `realpath`
    /// resolves both. Asked only once an agent has answered, so a process with no agent pays
    /// nothing for it.
    static func sameFile(_ agents: String?, _ vaultPath: String) -> Bool {
        guard let agents else { return false }
        if agents == vaultPath { return true }
        guard let theirs = realpath(agents, nil), let ours = realpath(vaultPath, nil) else { return false }
        defer { free(theirs); free(ours) }
        return strcmp(theirs, ours) == 0
    }

    /// What the agent said.
    public enum Answer: Sendable {
        /// A token.
        case granted(TokenBroker.Grant)
        /// A refusal or failure.
        case problem(AgentProblemAnswer)
    }

    /// One request to the agent at `socketPath`, if it is this user's socket and the agent there
    /// serves `vaultPath`: the status and the JSON object it answered; `nil` for anything else.
    private static func exchange(_ method: String, _ target: String, socketPath: String, vaultPath: String,
                                 timeout: Duration) -> (status: Int, fields: [String: JSONValue])? {
        guard AgentSocket.isOwnSocket(socketPath), let connection = AgentClient.connect(socketPath),
              let reply = try? connection.send(method, target, timeout: timeout), sameFile(reply.headers["cloakroom-vault"], vaultPath),
              case .object(let fields)? = JSONReader.read(reply.body) else { return nil }
        return (reply.status, fields)
    }

    /// Asks the agent at `socketPath` for a file it keeps holding `client`'s token while this
    /// process (and the command it execs into) runs: the file's path, or the agent's problem;
    /// `nil` when no agent of this vault answers there.
    public static func sink(socketPath: String, vaultPath: String, client: ClientRef, timeout: Duration) -> Result<String, AgentProblemAnswer>? {
        let target = "/v1/sinks/\(FormEncoding.encode(client.realm.rawValue))/\(FormEncoding.encode(client.name.rawValue))?format=raw"
        guard let (status, fields) = exchange("POST", target, socketPath: socketPath, vaultPath: vaultPath, timeout: timeout) else { return nil }
        if let path = fields["path"]?.string, status == 200 || status == 201 { return .success(path) }
        return AgentProblemAnswer(status: status, fields).map { .failure($0) }
    }

    /// An agent's problem document, read.
    public struct AgentProblemAnswer: Error, Sendable {
        /// `ErrorCode`'s raw value, or the agent's own (`forbidden`).
        public var code: String
        /// The HTTP status.
        public var status: Int
        /// The agent's message.
        public var detail: String

        /// A problem document's fields; `nil` when they are not one.
        init?(status: Int, _ fields: [String: JSONValue]) {
            guard let code = fields["code"]?.string, let detail = fields["detail"]?.string else { return nil }
            (self.code, self.status, self.detail) = (code, status, detail)
        }
    }

    /// Asks the agent at `socketPath` for a token, if one serves `vaultPath` there and its socket
    /// belongs to this user; `nil` otherwise (no agent, another vault's, not answering), and the
    /// caller reads the vault itself.
    public static func ask(socketPath: String, vaultPath: String, client: String, scopes: [String], audience: String?,
                           minimumTTL: Duration?, refresh: Bool, timeout: Duration) -> Answer? {
        let parts = client.split(separator: "/", maxSplits: 1).map { FormEncoding.encode(String($0)) }
        guard parts.count == 2 else { return nil }  // malformed: the vault path says so in its words
        var query: [String] = scopes.map { "scope=" + FormEncoding.encode($0) }
        if let audience { query.append("audience=" + FormEncoding.encode(audience)) }
        if let minimumTTL { query.append("min_ttl=\(Double(minimumTTL.components.seconds) + Double(minimumTTL.components.attoseconds) / 1e18)") }
        if refresh { query.append("refresh=true") }
        let target = "/v1/tokens/\(parts[0])/\(parts[1])" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        guard let (status, fields) = exchange("GET", target, socketPath: socketPath, vaultPath: vaultPath, timeout: timeout) else { return nil }
        guard status == 200 else { return AgentProblemAnswer(status: status, fields).map { .problem($0) } }
        // `expires_in`, not `expires_at`: whole seconds from now either way, and no date to parse.
        guard let value = fields["access_token"]?.string, let expiresIn = fields["expires_in"]?.number, expiresIn.isFinite,
              let source = fields["source"]?.string.flatMap(TokenBroker.Source.init(rawValue:)) else { return nil }
        let now = Date()
        let token = AccessToken(value: value, tokenType: fields["token_type"]?.string ?? "Bearer", expiresAt: now.addingTimeInterval(expiresIn),
                                issuedAt: now, scope: fields["scope"]?.string)
        return .granted(TokenBroker.Grant(token: token, source: source))
    }
}
