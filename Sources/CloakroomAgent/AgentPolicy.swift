public import Cloakroom

/// Who may ask the agent for what: rules that map Unix users and groups (of the peer, as the
/// kernel tells it) to client globs and operations. A request is allowed when any rule allows it.
public struct AgentPolicy: Sendable {
    /// What a request does.
    public enum Operation: String, Sendable, CaseIterable {
        /// `GET /v1/tokens/…`: a token for one client.
        case token
        /// `GET /v1/clients`: the clients (never their secrets).
        case clients
        /// `GET /v1/health`.
        case health
        /// `GET /v1/events`: tokens fetched, rotations started, finished, failed (never a secret).
        case events
        /// `POST /v1/rotations/…`: rotate a client's secret now.
        case rotate
        /// `GET /metrics`: Prometheus text.
        case metrics
    }

    /// One grant: these users or groups may do these operations on clients matching these globs.
    public struct Rule: Sendable {
        /// Peers whose uid is one of these; empty: any uid (then `groups` decides).
        public var users: Set<UInt32>
        /// Peers whose gid is one of these; empty: any gid (then `users` decides).
        public var groups: Set<UInt32>
        /// `realm/name` globs (`prod/*`, `*/orders`); operations that name no client ignore them.
        public var clients: [String]
        /// What the rule allows.
        public var operations: Set<Operation>

        /// A rule; at least one of `users` and `groups` must name someone.
        public init(users: Set<UInt32> = [], groups: Set<UInt32> = [], clients: [String] = ["*/*"], operations: Set<Operation>) {
            precondition(!users.isEmpty || !groups.isEmpty, "a rule names at least one user or group")
            (self.users, self.groups, self.clients, self.operations) = (users, groups, clients, operations)
        }

        func allows(_ peer: Peer, _ operation: Operation, client: ClientRef?) -> Bool {
            guard operations.contains(operation) else { return false }
            guard users.isEmpty || users.contains(peer.uid), groups.isEmpty || groups.contains(peer.gid) else { return false }
            guard let client else { return true }
            return clients.contains { FileSystem.matches(client.description, glob: $0) }
        }
    }

    /// The rules, any of which may allow a request.
    public var rules: [Rule]

    /// A policy of `rules`.
    public init(rules: [Rule]) { self.rules = rules }

    /// The default: only the agent's own user, every client, tokens (and the clients list,
    /// health and events, which reveal nothing a token would not). Rotating and metrics need a
    /// policy that says so.
    public static func ownerOnly(uid: UInt32) -> AgentPolicy {
        AgentPolicy(rules: [Rule(users: [uid], operations: [.token, .clients, .health, .events])])
    }

    /// Whether `peer` may do `operation` (on `client`, when it names one).
    public func allows(_ peer: Peer, _ operation: Operation, client: ClientRef? = nil) -> Bool {
        rules.contains { $0.allows(peer, operation, client: client) }
    }

    /// Whether anyone but `owner` may ask for anything: the socket must then be reachable by
    /// others (0666 in a 0711 directory), and each request's peer check is what keeps them out.
    public func admitsOthers(than owner: UInt32) -> Bool {
        rules.contains { $0.users != [owner] }
    }
}

extension AgentPolicy {
    /// Reads a policy file: JSON, a list of rules, each naming users and/or groups (names or
    /// numeric ids), client globs (default every client) and what they may do:
    ///
    ///     {"rules": [
    ///       {"users": ["deploy", 1001], "clients": ["prod/*"], "allow": ["token"]},
    ///       {"groups": ["ops"], "allow": ["token", "clients", "health"]}
    ///     ]}
    ///
    /// A file, not a vault table: which Unix users exist is a fact of one host, while the vault
    /// may be shared by many (the team vault), and a host's access rules belong with its other
    /// configuration, where they are reviewed and deployed; SIGHUP re-reads it.
    /// Names are looked up in /etc/passwd and /etc/group (not NSS: a static binary has none).
    /// - Throws: `VaultError` `.invalidInput` naming what is wrong, `.notFound` for a missing file.
    public static func load(from path: String) throws -> AgentPolicy {
        let bytes = try FileSystem.readWholeFile(path, limit: 1 << 20, what: "policy file \(path)")
        guard case .object(let document)? = JSONReader.read(bytes), case .array(let items)? = document["rules"] else {
            throw VaultError(.invalidInput, "\(path) is not a policy: expected a JSON object with a \"rules\" list.")
        }
        var rules: [Rule] = []
        for (index, item) in items.enumerated() {
            let at = "\(path), rule \(index + 1)"
            guard case .object(let fields) = item else { throw VaultError(.invalidInput, "\(at): a rule is a JSON object.") }
            for key in fields.keys where !["users", "groups", "clients", "allow"].contains(key) {
                throw VaultError(.invalidInput, "\(at): unknown field \"\(key)\" (a rule has users, groups, clients and allow).")
            }
            let users = try ids(fields["users"], in: "/etc/passwd", kind: "user", at: at)
            let groups = try ids(fields["groups"], in: "/etc/group", kind: "group", at: at)
            guard !users.isEmpty || !groups.isEmpty else { throw VaultError(.invalidInput, "\(at): name at least one user or group.") }
            let clients = fields["clients"].map(\.strings) ?? ["*/*"]
            for glob in clients where !glob.contains("/") {
                throw VaultError(.invalidInput, "\(at): the client glob \"\(glob)\" has no realm; write REALM/NAME (\"prod/*\", \"*/*\").")
            }
            var operations: Set<Operation> = []
            for word in fields["allow"]?.strings ?? [] {
                guard let operation = Operation(rawValue: word) else {
                    throw VaultError(.invalidInput, "\(at): cannot allow \"\(word)\"; the operations are \(Operation.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                operations.insert(operation)
            }
            guard !operations.isEmpty else { throw VaultError(.invalidInput, "\(at): \"allow\" lists nothing.") }
            rules.append(Rule(users: users, groups: groups, clients: clients, operations: operations))
        }
        return AgentPolicy(rules: rules)
    }

    /// Numeric ids as they are; names looked up in `database` (`name:x:id:…` lines).
    private static func ids(_ value: JSONValue?, in database: String, kind: String, at: String) throws -> Set<UInt32> {
        guard let value else { return [] }
        guard case .array(let items) = value else { throw VaultError(.invalidInput, "\(at): \(kind)s is a list.") }
        let accounts: AccountKind = kind == "user" ? .user : .group
        var ids: Set<UInt32> = []
        for item in items {
            switch item {
            case .number(let number) where number >= 0 && number < 4_294_967_295 && number.rounded() == number:
                ids.insert(UInt32(number))
            case .string(let name):
                guard let id = accounts.table()[name] else { throw VaultError(.invalidInput, "\(at): no \(kind) \"\(name)\" in \(accounts.database).") }
                ids.insert(id)
            default:
                throw VaultError(.invalidInput, "\(at): a \(kind) is a name or a numeric id.")
            }
        }
        return ids
    }

    /// Users and groups, as /etc/passwd and /etc/group list them.
    public enum AccountKind: Sendable {
        /// A user, from /etc/passwd.
        case user
        /// A group, from /etc/group.
        case group

        var database: String { self == .user ? "/etc/passwd" : "/etc/group" }

        /// The file's lines, split at colons.
        func entries() -> [[Substring]] {
            let text = (try? FileSystem.readWholeFile(database, limit: 16 << 20, what: database)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            return text.split(separator: "\n").map { $0.split(separator: ":", omittingEmptySubsequences: false) }
        }

        /// Name to id.
        func table() -> [String: UInt32] {
            Dictionary(entries().compactMap { fields in
                guard fields.count > 2, let id = UInt32(fields[2]) else { return nil }
                return (String(fields[0]), id)
            }, uniquingKeysWith: { first, _ in first })
        }
    }

    /// `name`'s id: a number as it is, else looked up.
    /// - Throws: `VaultError` `.invalidInput` when there is no such user or group.
    public static func id(of name: String, kind: AccountKind) throws -> UInt32 {
        if let id = UInt32(name) { return id }
        guard let id = kind.table()[name] else { throw VaultError(.invalidInput, "no \(kind == .user ? "user" : "group") \"\(name)\" in \(kind.database).") }
        return id
    }

    /// The primary group of the user `uid` (its /etc/passwd line's fourth field).
    /// - Throws: `VaultError` `.invalidInput` when /etc/passwd has no such user.
    public static func primaryGroup(of uid: UInt32) throws -> UInt32 {
        for fields in AccountKind.user.entries() where fields.count > 3 && UInt32(fields[2]) == uid {
            if let gid = UInt32(fields[3]) { return gid }
        }
        throw VaultError(.invalidInput, "uid \(uid) has no line in /etc/passwd to take its group from; name the group.")
    }
}
