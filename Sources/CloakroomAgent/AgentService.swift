public import Cloakroom
public import Logging
import Synchronization
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// What the agent answers, whatever carries the request (the Unix socket today): routing, the
/// policy check, the broker, and the documents. It knows nothing of HTTP framing.
public final class AgentService: Sendable {
    /// A request, parsed as far as routing needs.
    package struct Request: Sendable {
        package var method: String
        /// The path, percent-decoded segment by segment: `["v1", "tokens", "prod", "orders"]`.
        package var segments: [String]
        /// The query's parameters in order; a name may repeat (`scope=a&scope=b`).
        package var query: [(String, String)]

        package init(method: String, target: String) {
            self.method = method
            // Split on bytes (ASCII delimiters), not Characters: no grapheme breaking per request.
            let bytes = target.utf8
            let mark = bytes.firstIndex(of: UInt8(ascii: "?"))
            let path = Substring(bytes[..<(mark ?? bytes.endIndex)])
            let query = mark.map { Substring(bytes[bytes.index(after: $0)...]) } ?? ""
            segments = path.utf8.split(separator: UInt8(ascii: "/")).map { Self.decode(Substring($0)) }
            self.query = query.utf8.split(separator: UInt8(ascii: "&")).map { pair in
                let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                return (Self.decode(Substring(parts[0])), parts.count > 1 ? Self.decode(Substring(parts[1])) : "")
            }
        }

        func parameter(_ name: String) -> String? { query.last { $0.0 == name }?.1 }
        func parameters(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }

        /// Percent-decoding (and `+` as a space, in query values as HTML forms send them).
        static func decode(_ text: Substring) -> String {
            // Bytes, not Characters: grapheme breaking made reading a path a tenth of a request.
            guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
            var bytes: [UInt8] = []
            var utf8 = text.utf8.makeIterator()
            while let byte = utf8.next() {
                switch byte {
                case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
                case UInt8(ascii: "%"):
                    guard let high = utf8.next(), let low = utf8.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                        return String(text)  // malformed: left as it is, and so fails validation later
                    }
                    bytes.append(value)
                default: bytes.append(byte)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// An answer: a status and a JSON document, or a stream of server-sent events.
    package struct Response: Sendable {
        package var status: Int
        package var contentType: String
        package var body: [UInt8]
        /// Events to send as they happen, after the head (`GET /v1/events`); the body is empty.
        package var events: AsyncStream<AgentEvent>?

        init(body: [UInt8]) {
            (status, contentType, self.body) = (200, "application/json", body)
        }

        init(events: AsyncStream<AgentEvent>) {
            (status, contentType, body, self.events) = (200, "text/event-stream", [], events)
        }

        init(text: String, contentType: String) {
            (status, self.contentType, body) = (200, contentType, Array(text.utf8))
        }

        init(_ document: JSON, status: Int = 200) {
            (self.status, contentType, body) = (status, "application/json", document.bytes)
        }

        init(_ problem: Problem) {
            (status, contentType, body) = (problem.status, "application/problem+json", problem.document.bytes)
        }
    }

    let broker: TokenBroker
    let keeper: TokenKeeper
    let sinks: SinkRegistry
    let events = EventHub()
    /// Rotates on `POST /v1/rotations/…` (where the policy allows); `nil`: not offered.
    private let rotator: SecretRotator?
    /// Where sinks made for one process (`cloak exec --token-file`) go; `nil`: none are made.
    private let sinkDirectory: String?
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// The vault's absolute path: `GET /v1/health` reports it, and every answer carries it
    /// (`Cloakroom-Vault`), so that `cloak` uses an agent only for its own vault.
    public let vaultPath: String
    /// `vaultPath` as the `Cloakroom-Vault` header carries it: a byte that could end a header line
    /// (a control character, in a path nobody would choose) is percent-encoded, and such a path
    /// then matches no client's, which reads the vault itself.
    let vaultHeader: String
    private let policy: Mutex<AgentPolicy>
    private let logger: Logger
    private let log: @Sendable (String) -> Void
    let metrics = AgentMetrics()
    private let limiter: RateLimiter
    /// The body last served from memory for each request, for the second it was made in (its
    /// `expires_in` changes each second): a busy consumer's answers cost a dictionary lookup.
    private let answers = Mutex<[TokenKeeper.Request: (issuedAt: Date, expiresAt: Date, second: Int64, body: [UInt8])]>([:])
    /// How each realm's identity provider answered last (for `/v1/health`).
    private let reachability = IdPReachability()
    private let started = ContinuousClock.now
    /// Requests the policy refused.
    let refused = Atomic<Int>(0)

    /// A service answering from `broker`'s vault, under `policy`; `log` gets one line per
    /// refused request and per failure (never a secret or a token).
    /// `sinkDirectory`: where a process's own sinks are made (a directory of the agent's, beside
    /// its socket); `nil` refuses them.
    /// `rotator`: what `POST /v1/rotations/…` rotates with (`nil`: that path is refused).
    /// `rateLimit`: requests a second each user other than the agent's own may make (twice that
    /// in a burst); the agent's own user could read the vault itself, so limiting it guards nothing.
    public init(broker: TokenBroker, vaultPath: String, policy: AgentPolicy, sinkDirectory: String? = nil, rotator: SecretRotator? = nil,
                rateLimit: Double = 50, logger: Logger) {
        self.limiter = RateLimiter(perSecond: rateLimit)
        self.broker = broker
        self.rotator = rotator
        let log: @Sendable (String) -> Void = { logger.info("\($0)") }
        let sinks = SinkRegistry(log: log)
        self.sinks = sinks
        let (events, metrics, reachability) = (self.events, self.metrics, self.reachability)
        self.keeper = TokenKeeper(broker: broker) { request, result in
            if let client = try? ClientRef(request.client) { reachability.note(result.map(\.source), realm: client.realm) }
            switch result {
            case .success(let grant):
                metrics.renewal(grant.source == .idp ? "idp" : "cache")
                sinks.write(grant, for: request)
                if grant.source == .idp, let client = try? ClientRef(request.client) { events.publish(AgentEvent(.tokenFetched, client)) }
            case .failure(let error):
                metrics.renewal("failed")
                logger.warning("renewing a token of \(request.client) failed: \(error)", metadata: ["client": "\(request.client)"])
            }
        }
        self.vaultPath = vaultPath
        vaultHeader = vaultPath.utf8.contains { $0 < 0x20 || $0 == 0x7f }
            ? vaultPath.utf8.map { $0 < 0x20 || $0 >= 0x7f ? "%" + String($0, radix: 16, uppercase: true) : String(UnicodeScalar($0)) }.joined()
            : vaultPath
        self.sinkDirectory = sinkDirectory
        self.policy = Mutex(policy)
        self.logger = logger
        self.log = log
        let task = Task { [weak self] in
            guard let self else { return }
            await self.maintain()
        }
        maintenance.withLock { $0 = task }
    }

    /// Once a second: sinks whose process ended are removed, and when another process changed
    /// the vault (a client removed, a secret rotated: `VaultStore.changesByOthers`), the memory
    /// of tokens is dropped, so that the next request reads the vault again. One cheap query a
    /// second, whatever the number of clients.
    private func maintain() async {
        var seen = try? await broker.changesByOthers()
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            for request in sinks.sweep() { keeper.unpin(request) }
            let now = try? await broker.changesByOthers()
            if let now, now != seen {
                if seen != nil {
                    broker.forgetAll()
                    answers.withLock { $0.removeAll() }
                    log("the vault was changed by another process: tokens are read from it again")
                }
                seen = now
            }
        }
    }

    /// Keeps `sink` holding a fresh token of its client from now on: written as soon as a token
    /// can be had (retried, backing off, while the IdP cannot be reached), then at each renewal.
    /// - Throws: `VaultError` `.conflict` when a sink is at that path already.
    public func add(_ sink: Sink) throws {
        let request = TokenKeeper.Request(client: sink.client.description, scopes: [], audience: nil)
        guard sinks.add(sink, for: request) else { throw VaultError(.conflict, "two sinks write \(sink.path).") }
        Task {
            var pause = 1
            while !Task.isCancelled {
                do {
                    let grant = try await broker.token(for: request.client, minimumTTL: .zero)
                    try sink.write(grant)
                    keeper.asked(request, answered: grant.token, pin: true)
                    log("sink \(sink.path) holds a token of \(sink.client), kept fresh")
                    return
                } catch {
                    log("sink \(sink.path): no token of \(sink.client) yet (\(error)); trying again in \(pause) s")
                    try? await Task.sleep(for: .seconds(pause))
                    pause = min(pause * 2, 60)
                }
            }
        }
    }

    /// Replaces the policy (SIGHUP): requests from now on are judged by `policy`.
    public func reload(_ policy: AgentPolicy) { self.policy.withLock { $0 = policy } }

    /// Whether the policy lets anyone but this process's user ask.
    public var admitsOthers: Bool { policy.withLock { $0.admitsOthers(than: Peer.current.uid) } }

    /// Tells `GET /v1/events` subscribers (and the log) what happened.
    public func publish(_ event: AgentEvent) {
        events.publish(event)
        let client: Logger.Metadata = ["client": "\(event.client)"]
        switch event.kind {
        case .tokenFetched: break
        case .rotationStarted: logger.info("rotating \(event.client)", metadata: client)
        case .rotationFinished:
            metrics.rotation("rotated")
            logger.notice("rotated \(event.client): secret version \(event.secretVersion.map(String.init) ?? "?") is current", metadata: client)
        case .rotationFailed:
            metrics.rotation("failed")
            logger.error("rotating \(event.client) failed (\(event.code ?? "?"))", metadata: client.merging(["code": "\(event.code ?? "?")"]) { $1 })
        }
    }

    /// Stops the background renewals and removes the sinks made for processes.
    public func stop() {
        events.finish()
        maintenance.withLock { $0?.cancel() }
        keeper.stop()
        sinks.removeProcessSinks()
    }

    /// Who asks: a process on this host, as the kernel names it; or, on the TCP listener, the
    /// holder of a consumer's credential (`nil`: none was presented).
    package enum Caller: Sendable, CustomStringConvertible {
        case local(Peer)
        case remote(bearer: String?)

        package var description: String {
            switch self {
            case .local(let peer): "\(peer)"
            case .remote: "a TCP consumer"
            }
        }
    }

    /// The answer to a token request that memory can give, at once: no task, no hop off the
    /// event loop (the common case, and two thread switches a request otherwise). `nil` for
    /// anything else — another route, a TCP consumer (whose credential needs the vault), another
    /// user (held to the rate limit), a refusal, a bad parameter, a token not in memory — which
    /// `respond` then answers in full.
    package func respondFromMemory(to request: Request, from caller: Caller) -> Response? {
        guard case .local(let peer) = caller, peer.uid == Peer.current.uid, request.method == "GET", request.segments.count == 4,
              request.segments[0] == "v1", request.segments[1] == "tokens",
              let realm = try? Name(request.segments[2], of: "realm name"), let name = try? Name(request.segments[3], of: "client name") else { return nil }
        let ref = ClientRef(realm: realm, name: name)
        guard policy.withLock({ $0.allows(peer, .token, client: ref) }),
              let parameters = try? TokenParameters(request),
              !parameters.refresh,
              let token = broker.memoryToken(for: ref.description, scopes: parameters.scopes, audience: parameters.audience, minimumTTL: parameters.minimumTTL)
        else { return nil }
        let asked = TokenKeeper.Request(client: ref.description, scopes: parameters.scopes, audience: parameters.audience)
        let now = Date()
        let second = Int64(now.timeIntervalSince1970.rounded(.down))
        metrics.served(.memory)
        if let kept = answers.withLock({ $0[asked] }), kept.second == second, kept.issuedAt == token.issuedAt, kept.expiresAt == token.expiresAt {
            return Response(body: kept.body)
        }
        // Once a second per request at most: the keeper's "last asked" needs no finer grain.
        keeper.asked(asked, answered: token)
        let body = TokenBroker.Grant(token: token, source: .memory).document(now: now).bytes
        answers.withLock { $0[asked] = (token.issuedAt, token.expiresAt, second, body) }
        return Response(body: body)
    }

    /// A token request's query: `scope` (repeatable, or space-separated), `audience`, `min_ttl`, `refresh`.
    struct TokenParameters {
        var scopes: [String]
        var audience: String?
        var minimumTTL: Duration?
        var refresh: Bool

        /// - Throws: `Problem` 400 for a `min_ttl` that is not a number of seconds from 0 to a day.
        init(_ request: Request, client: ClientRef? = nil) throws {
            // As `cloak token` splits them: `scope=a b` and `scope=a&scope=b` are the same request.
            scopes = request.parameters("scope").flatMap { $0.split(separator: " ").map(String.init) }
            audience = request.parameter("audience").flatMap { $0.isEmpty ? nil : $0 }
            if let text = request.parameter("min_ttl") {
                guard let seconds = Double(text), seconds.isFinite, (0...86_400).contains(seconds) else {
                    throw Problem(status: 400, code: ErrorCode.invalidInput.rawValue, detail: "min_ttl must be a number of seconds from 0 to 86400.", client: client)
                }
                minimumTTL = .milliseconds(Int64(seconds * 1000))
            }
            refresh = request.parameter("refresh") == "true"
        }
    }

    package func respond(to request: Request, from caller: Caller) async -> Response {
        let problem: Problem
        do {
            if case .local(let peer) = caller, peer.uid != Peer.current.uid, let wait = limiter.admit("uid \(peer.uid)") {
                metrics.failed("rate_limited")
                return Response(Problem(status: 429, code: "rate_limited", detail: "uid \(peer.uid) is asking faster than the agent allows; try again in \(wait) s."))
            }
            return try await route(request, from: caller)
        } catch let error as Problem {
            problem = error
        } catch {
            problem = Problem(error)
        }
        metrics.failed(problem.code)
        return Response(problem)
    }

    private func route(_ request: Request, from peer: Caller) async throws -> Response {
        let segments = request.segments
        // `/metrics` is where Prometheus looks; the rest of the API is under `/v1`.
        let rest = segments == ["metrics"] ? segments : Array(segments.dropFirst())
        guard segments.first == "v1" || segments == ["metrics"] else { throw Problem(status: 404, code: "not_found", detail: "no such path; the agent's API is under /v1.") }
        switch (request.method, rest) {
        case ("GET", let rest) where rest.count == 3 && rest[0] == "tokens":
            return try await token(realm: rest[1], name: rest[2], request, from: peer)
        case ("GET", ["clients"]):
            try await authorize(peer, .clients)
            return try await clients()
        case ("GET", ["health"]):
            try await authorize(peer, .health)
            return try await health()
        case ("GET", ["metrics"]):
            try await authorize(peer, .metrics)
            let statuses = try await broker.withVault { try $0.vault.rotationStatus() }
            return Response(text: String(decoding: metrics.exposition(statuses, now: Date()), as: UTF8.self), contentType: "text/plain; version=0.0.4")
        case ("GET", ["events"]):
            try await authorize(peer, .events)
            return Response(events: events.subscribe())
        case ("POST", let rest) where rest.count == 3 && rest[0] == "rotations":
            return try await rotate(realm: rest[1], name: rest[2], from: peer)
        case ("POST", let rest) where rest.count == 3 && rest[0] == "sinks":
            return try await sink(realm: rest[1], name: rest[2], request, from: peer)
        case (_, let rest) where (rest.count == 3 && ["tokens", "sinks", "rotations"].contains(rest[0])) || [["clients"], ["health"], ["events"]].contains(rest):
            throw Problem(status: 405, code: "method_not_allowed", detail: "\(request.method) is not allowed here; use \(["sinks", "rotations"].contains(segments[1]) ? "POST" : "GET").")
        default:
            throw Problem(status: 404, code: "not_found", detail: "no such path: /\(segments.joined(separator: "/")).")
        }
    }

    private func authorize(_ caller: Caller, _ operation: AgentPolicy.Operation, client: ClientRef? = nil) async throws {
        let peer: Peer
        switch caller {
        case .local(let local):
            peer = local
        case .remote(let bearer):
            return try await authorizeConsumer(bearer, operation, client: client)
        }
        guard policy.withLock({ $0.allows(peer, operation, client: client) }) else {
            refused.add(1, ordering: .relaxed)
            let what = client.map { "\(operation.rawValue) for \($0)" } ?? operation.rawValue
            logger.warning("refused \(what) to \(peer)", metadata: [
                "operation": "\(operation.rawValue)", "client": "\(client.map(\.description) ?? "-")",
                "peer_uid": "\(peer.uid)", "peer_gid": "\(peer.gid)", "peer_pid": "\(peer.pid)",
            ])
            throw Problem(status: 403, code: "forbidden", detail: "the agent's policy does not allow uid \(peer.uid) (gid \(peer.gid)) \(what).", client: client)
        }
    }

    /// A TCP consumer may ask for tokens of the clients its globs match, and for health; its
    /// credential is checked against the vault (digest and tag) on each request, so that one
    /// removed with `cloak agent consumer remove` stops working at once.
    private func authorizeConsumer(_ bearer: String?, _ operation: AgentPolicy.Operation, client: ClientRef?) async throws {
        guard let bearer, let consumer = try await broker.withVault({ try $0.consumer(presenting: bearer) }) else {
            refused.add(1, ordering: .relaxed)
            logger.warning("refused a TCP request without a valid consumer credential", metadata: ["operation": "\(operation.rawValue)"])
            throw Problem(status: 401, code: "unauthorized", detail: "present a consumer's credential: Authorization: Bearer cloak_agent_… (cloak agent consumer add).")
        }
        if let wait = limiter.admit("consumer \(consumer.name)") {
            throw Problem(status: 429, code: "rate_limited", detail: "consumer \(consumer.name) is asking faster than the agent allows; try again in \(wait) s.")
        }
        let allowed = operation == .health || (operation == .token && client.map(consumer.mayAsk(for:)) == true)
        guard allowed else {
            refused.add(1, ordering: .relaxed)
            let what = client.map { "\(operation.rawValue) for \($0)" } ?? operation.rawValue
            logger.warning("refused \(what) to consumer \(consumer.name)", metadata: ["consumer": "\(consumer.name)", "client": "\(client.map(\.description) ?? "-")"])
            throw Problem(status: 403, code: "forbidden", detail: "consumer \(consumer.name) may not \(what).", client: client)
        }
    }

    /// `GET /v1/tokens/{realm}/{name}?scope=…&audience=…&min_ttl=…&refresh=true`
    private func token(realm: String, name: String, _ request: Request, from peer: Caller) async throws -> Response {
        let ref: ClientRef
        do { ref = ClientRef(realm: try Name(realm, of: "realm name"), name: try Name(name, of: "client name")) } catch { throw Problem(error) }
        try await authorize(peer, .token, client: ref)
        let parameters = try TokenParameters(request, client: ref)
        let (scopes, audience, minimumTTL, refresh) = (parameters.scopes, parameters.audience, parameters.minimumTTL, parameters.refresh)
        do {
            let started = ContinuousClock.now
            let grant: TokenBroker.Grant
            do {
                grant = try await broker.token(for: ref.description, scopes: scopes, audience: audience, minimumTTL: minimumTTL, refresh: refresh)
                reachability.note(.success(grant.source), realm: ref.realm, stale: grant.warning)
            } catch {
                reachability.note(.failure(error), realm: ref.realm)
                throw error
            }
            keeper.asked(.init(client: ref.description, scopes: scopes, audience: audience), answered: grant.token)
            metrics.served(grant.source)
            if grant.source == .idp {
                metrics.idpFetch(took: .now - started)
                events.publish(AgentEvent(.tokenFetched, ref))
            }
            if let warning = grant.warning { log("warning: \(warning)") }
            return Response(grant.document(now: Date()))
        } catch {
            log("token for \(ref) failed: \(error)")
            throw Problem(error, client: ref)
        }
    }

    /// `POST /v1/sinks/{realm}/{name}?format=raw|json|header|env`: a file holding the client's
    /// token, kept fresh for as long as the asking process lives (the peer's pid: `cloak exec`
    /// asks, then becomes the command by exec, keeping its pid). Answers `{"path": …}`.
    private func sink(realm: String, name: String, _ request: Request, from caller: Caller) async throws -> Response {
        let ref: ClientRef
        do { ref = ClientRef(realm: try Name(realm, of: "realm name"), name: try Name(name, of: "client name")) } catch { throw Problem(error) }
        try await authorize(caller, .token, client: ref)
        guard case .local(let peer) = caller else {
            throw Problem(status: 403, code: "forbidden", detail: "sinks are for processes on this host, on the socket.", client: ref)
        }
        guard let sinkDirectory else {
            throw Problem(status: 404, code: "not_found", detail: "this agent makes no sinks for processes.", client: ref)
        }
        guard let format = Sink.Format(rawValue: request.parameter("format") ?? "raw") else {
            throw Problem(status: 400, code: ErrorCode.invalidInput.rawValue, detail: "format is one of \(Sink.Format.allCases.map(\.rawValue).joined(separator: ", ")).", client: ref)
        }
        let own = Peer.current
        var owner: (uid: UInt32, gid: UInt32)?
        if peer.uid != own.uid {
            // Only root can give a file away; another user could not read one the agent keeps.
            guard own.uid == 0 else {
                throw Problem(status: 403, code: "forbidden", detail: "the agent runs as uid \(own.uid) and cannot make a file uid \(peer.uid) can read; ask for tokens on the socket instead.", client: ref)
            }
            owner = (peer.uid, peer.gid)
        }
        guard peer.pid > 0 else { throw Problem(status: 400, code: ErrorCode.invalidInput.rawValue, detail: "the asking process is unknown.", client: ref) }
        do {
            try FileSystem.createDirectories(sinkDirectory, mode: 0o711)
            let sink = Sink(client: ref, path: "\(sinkDirectory)/\(peer.pid)-\(ref.realm)-\(ref.name)", format: format, owner: owner, process: peer.pid)
            let tokenRequest = TokenKeeper.Request(client: ref.description, scopes: [], audience: nil)
            let grant = try await broker.token(for: tokenRequest.client)
            try sink.write(grant)
            guard sinks.add(sink, for: tokenRequest) else { return Response(.object(["path": .string(sink.path), "format": .string(format.rawValue)])) }
            keeper.asked(tokenRequest, answered: grant.token, pin: true)
            log("sink \(sink.path) for \(ref), kept while process \(peer.pid) (uid \(peer.uid)) runs")
            return Response(.object(["path": .string(sink.path), "format": .string(format.rawValue)]), status: 201)
        } catch {
            log("sink for \(ref) failed: \(error)")
            throw Problem(error, client: ref)
        }
    }

    /// `POST /v1/rotations/{realm}/{name}`: rotates the client's secret now (journaled, verified,
    /// as `cloak rotate`); answers the outcome, never a secret.
    private func rotate(realm: String, name: String, from peer: Caller) async throws -> Response {
        let ref: ClientRef
        do { ref = ClientRef(realm: try Name(realm, of: "realm name"), name: try Name(name, of: "client name")) } catch { throw Problem(error) }
        try await authorize(peer, .rotate, client: ref)
        guard let rotator else { throw Problem(status: 404, code: "not_found", detail: "this agent does not rotate.", client: ref) }
        log("rotating \(ref) for \(peer)")
        publish(AgentEvent(.rotationStarted, ref))
        do {
            let outcome = try await rotator.rotate(ref)
            publish(AgentEvent(.rotationFinished, ref, secretVersion: outcome.toVersion))
            return Response(.object([
                "realm": .string(ref.realm.rawValue), "client": .string(ref.name.rawValue), "result": .string(outcome.result.rawValue),
                "from_version": .optional(outcome.fromVersion), "to_version": .optional(outcome.toVersion), "notes": .strings(outcome.notes),
            ]))
        } catch {
            publish(AgentEvent(.rotationFailed, ref, code: (error as? any CloakroomError)?.code.rawValue ?? "internal"))
            throw Problem(error, client: ref)
        }
    }

    /// `GET /v1/clients`: realm, name and client id of each; never a secret.
    private func clients() async throws -> Response {
        let clients = try await broker.withVault { vault in try vault.vault.clients() }
        return Response(.array(clients.map { client in
            .object(["realm": .string(client.ref.realm.rawValue), "name": .string(client.ref.name.rawValue), "client_id": .string(client.clientID)])
        }))
    }

    /// `GET /v1/health`: the vault answers a read; how many tokens are kept fresh.
    private func health() async throws -> Response {
        let (count, realms) = try await broker.withVault { vault in (try vault.vault.clients().count, try vault.vault.realms().map(\.name.rawValue)) }
        let seen = reachability.snapshot
        let idps: [JSON] = realms.map { realm in
            guard let entry = seen[realm] else { return .object(["realm": .string(realm), "idp": .string("not asked yet"), "last_exchange_at": .null, "problem": .null]) }
            return .object(["realm": .string(realm), "idp": .string(entry.reachable ? "reachable" : "unreachable"),
                            "last_exchange_at": .string(entry.at.iso8601), "problem": .optional(entry.problem)])
        }
        let degraded = seen.values.contains { !$0.reachable }
        return Response(.object([
            "status": .string(degraded ? "degraded" : "ok"),
            "realms": .array(idps),
            "vault": .string(vaultPath),
            "unlocked": .bool(true),
            "clients": .number(Int64(count)),
            "tokens_kept_fresh": .number(Int64(keeper.count)),
            "renewals": .number(Int64(keeper.renewals.load(ordering: .relaxed))),
            "renewal_failures": .number(Int64(keeper.failures.load(ordering: .relaxed))),
            "refused_requests": .number(Int64(refused.load(ordering: .relaxed))),
            "uptime_seconds": .number((ContinuousClock.now - started).components.seconds),
        ]))
    }
}

/// A token bucket per user: `perSecond` requests a second, bursts of twice that.
final class RateLimiter: Sendable {
    private let perSecond: Double
    private let buckets = Mutex<[String: (tokens: Double, at: ContinuousClock.Instant)]>([:])

    init(perSecond: Double) { self.perSecond = max(perSecond, 0.001) }

    /// `nil` when `who` may go on; else the whole seconds until it may.
    func admit(_ who: String) -> Int? {
        let now = ContinuousClock.now
        return buckets.withLock { buckets in
            let burst = perSecond * 2
            var (tokens, at) = buckets[who] ?? (burst, now)
            let elapsed = now - at
            tokens = min(burst, tokens + perSecond * (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
            guard tokens >= 1 else {
                buckets[who] = (tokens, now)
                return max(1, Int(((1 - tokens) / perSecond).rounded(.up)))
            }
            buckets[who] = (tokens - 1, now)
            return nil
        }
    }
}

/// How each realm's identity provider answered last: for `/v1/health`.
final class IdPReachability: Sendable {
    struct Entry: Sendable {
        var reachable: Bool
        var at: Date
        var problem: String?
    }

    private let table = Mutex<[String: Entry]>([:])

    var snapshot: [String: Entry] { table.withLock { $0 } }

    /// Records what an exchange says of `realm`'s IdP: reached (a token from it, or a refusal of
    /// the credentials, which it had to be reached to make), or not (unreachable, nonsense, a TLS
    /// or URL refusal, or a stale token served because of one). A token from memory or the vault
    /// says nothing.
    func note(_ result: Result<TokenBroker.Source, any Error>, realm: Name, stale: String? = nil) {
        let entry: Entry
        switch result {
        case .success(let source):
            if let stale { entry = Entry(reachable: false, at: Date(), problem: stale) }
            else if source == .idp { entry = Entry(reachable: true, at: Date()) }
            else { return }
        case .failure(let error):
            guard let code = (error as? any CloakroomError)?.code else { return }
            switch code {
            case .idpUnavailable, .idpMalformed, .idpRefused: entry = Entry(reachable: false, at: Date(), problem: "\(error)")
            case .credentialsRejected, .tokenInvalid: entry = Entry(reachable: true, at: Date())
            default: return
            }
        }
        table.withLock { $0[realm.rawValue] = entry }
    }
}
