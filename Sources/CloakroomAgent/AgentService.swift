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

    let broker: TokenBroker
    let keeper: TokenKeeper
    let sinks: SinkRegistry
    let events = EventHub()
    /// Rotates on `POST /v1/rotations/…` (where the policy allows); `nil`: not offered.
    let rotator: SecretRotator?
    /// Where sinks made for one process (`cloak exec --token-file`) go; `nil`: none are made.
    let sinkDirectory: String?
    private let maintenance = Mutex<Task<Void, Never>?>(nil)
    /// The vault's absolute path: `GET /v1/health` reports it, and every answer carries it
    /// (`Cloakroom-Vault`), so that `cloak` uses an agent only for its own vault.
    public let vaultPath: String
    /// `vaultPath` as the `Cloakroom-Vault` header carries it: a byte that could end a header line
    /// (a control character, in a path nobody would choose) is percent-encoded, and such a path
    /// then matches no client's, which reads the vault itself.
    let vaultHeader: String
    let policy: Mutex<AgentPolicy>
    let logger: Logger
    let log: @Sendable (String) -> Void
    let metrics = AgentMetrics()
    let limiter: RateLimiter
    /// The body last served from memory for each request, for the second it was made in (its
    /// `expires_in` changes each second): a busy consumer's answers cost a dictionary lookup.
    let answers = Mutex<[TokenKeeper.Request: (issuedAt: Date, expiresAt: Date, second: Int64, body: [UInt8])]>([:])
    /// How each realm's identity provider answered last (for `/v1/health`).
    let reachability = IdPReachability()
    let started = ContinuousClock.now
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
        case .rotationSkipped:
            metrics.rotation("skipped")
            logger.info("left \(event.client) to another process, which rotated it", metadata: client)
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

    /// The answer to a token request that memory can give, at once: no task, no hop off the
    /// event loop (the common case, and two thread switches a request otherwise). `nil` for
    /// anything else — another route, a TCP consumer (whose credential needs the vault), another
    /// user (held to the rate limit), a refusal, a bad parameter, a token not in memory — which
    /// `respond` then answers in full.
    package func respondFromMemory(to request: Request, from caller: Caller) -> Response? {
        guard case .local(let peer) = caller, peer.uid == Peer.current.uid, request.method == "GET", request.segments.count == 4,
              request.segments[0] == "v1", request.segments[1] == "tokens",
              let ref = try? Self.client(realm: request.segments[2], name: request.segments[3]) else { return nil }
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

    func authorize(_ caller: Caller, _ operation: AgentPolicy.Operation, client: ClientRef? = nil) async throws {
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
    func authorizeConsumer(_ bearer: String?, _ operation: AgentPolicy.Operation, client: ClientRef?) async throws {
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

}

