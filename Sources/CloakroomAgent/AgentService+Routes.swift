import Cloakroom
import Logging
import Synchronization
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The answers to each route, once `respond` has let the request through to them.
extension AgentService {
    /// The client a path names (`…/REALM/NAME`); a malformed name is 400 `invalid_input`.
    static func client(realm: String, name: String) throws -> ClientRef {
        do { return ClientRef(realm: try Name(realm, of: "realm name"), name: try Name(name, of: "client name")) } catch { throw Problem(error) }
    }

    /// `GET /v1/tokens/{realm}/{name}?scope=…&audience=…&min_ttl=…&refresh=true`
    func token(realm: String, name: String, _ request: Request, from peer: Caller) async throws -> Response {
        let ref = try Self.client(realm: realm, name: name)
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
    func sink(realm: String, name: String, _ request: Request, from caller: Caller) async throws -> Response {
        let ref = try Self.client(realm: realm, name: name)
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
    func rotate(realm: String, name: String, from peer: Caller) async throws -> Response {
        let ref = try Self.client(realm: realm, name: name)
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
    func clients() async throws -> Response {
        let clients = try await broker.withVault { vault in try vault.vault.clients() }
        return Response(.array(clients.map { client in
            .object(["realm": .string(client.ref.realm.rawValue), "name": .string(client.ref.name.rawValue), "client_id": .string(client.clientID)])
        }))
    }

    /// `GET /v1/health`: the vault answers a read; how many tokens are kept fresh.
    func health() async throws -> Response {
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
