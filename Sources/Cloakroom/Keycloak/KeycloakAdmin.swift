import CloakroomHTTP

/// The slice of Keycloak's Admin REST API that rotation needs (contract §4), called with a
/// bearer token of the realm's admin client.
///
/// Errors say which role is missing (403), what a 401 means on 26.8.2+, and never include a
/// secret or a response body. Idempotent calls are retried on Keycloak's optimistic-lock answers
/// (409, and 500 from a lost update race), 5xx, 429 and connection failures, within a deadline.
struct KeycloakAdmin: Sendable {
    /// `https://host/admin/realms/NAME` (with `/auth` before Keycloak 17).
    var baseURL: String
    var caFile: String?
    var realm: Name
    var adminClient: ClientRef
    var deadline: Duration = .seconds(20)
    var sleep: @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    /// The broker's transport, as for tokens.
    var transport: HTTPTransport = .shared
    /// A bearer token of the admin client; `true` asks for a fresh one (after a 401).
    var token: @Sendable (_ refresh: Bool) async throws -> String

    /// Admin responses are small JSON documents; anything bigger is not Keycloak.
    static let maximumBodySize = 1 << 20

    struct Reply {
        var status: Int
        var body: [UInt8]
    }

    /// The realm-management role a call needs (contract §4.1's table), for the 403 message.
    enum Role: String {
        case viewClients = "view-clients"
        case manageClients = "manage-clients"
    }

    // MARK: Calls

    /// The client whose `clientId` is exactly `clientID`, with its `id` (UUID), or `nil`.
    ///
    /// The list holds whole representations, the same as `GET /clients/{id}` (contract §4.3), so a
    /// rotation that looks a client up needs no second read before its PUT.
    func findClient(clientID: String) async throws -> (uuid: String, representation: ClientRepresentation)? {
        let reply = try await call(.GET, "/clients?clientId=" + FormEncoding.encode(clientID), role: .viewClients, action: "look up clients")
        guard reply.status == 200, case .array(let items)? = JSONReader.read(reply.body) else {
            throw malformed("GET /clients answered HTTP \(reply.status) without a list of clients")
        }
        // An exact lookup returns zero or one; compare anyway, as python-keycloak does (§4.3).
        for case .object(let client) in items where client["clientId"]?.string == clientID {
            guard let uuid = client["id"]?.string else { break }
            return (uuid, ClientRepresentation(fields: client))
        }
        return nil
    }

    /// Every client of the realm, in pages of `pageSize` (`first`/`max`; the endpoint has no limit
    /// of its own, contract §4.3, but a realm may hold thousands).
    func clients(pageSize: Int = 200) async throws -> [ClientRepresentation] {
        var all: [ClientRepresentation] = []
        while true {
            let reply = try await call(.GET, "/clients?first=\(all.count)&max=\(pageSize)", role: .viewClients, action: "list clients")
            guard reply.status == 200, case .array(let items)? = JSONReader.read(reply.body) else {
                throw malformed("GET /clients answered HTTP \(reply.status) without a list of clients")
            }
            for case .object(let fields) in items { all.append(ClientRepresentation(fields: fields)) }
            if items.count < pageSize { return all }
        }
    }

    /// The client's representation, or `nil` when there is no client with that UUID.
    func representation(of uuid: String) async throws -> ClientRepresentation? {
        let reply = try await call(.GET, "/clients/" + FormEncoding.encode(uuid), role: .viewClients, action: "read clients")
        if reply.status == 404 { return nil }
        guard reply.status == 200, let representation = try? ClientRepresentation(json: reply.body) else {
            throw malformed("GET /clients/{id} answered HTTP \(reply.status) without a client representation")
        }
        return representation
    }

    /// Sets the client's secret with a PUT of its whole representation (contract §4.5: Keycloak
    /// applies a caller-chosen `secret` verbatim; absent fields could switch features off).
    func update(_ uuid: String, _ representation: ClientRepresentation, secret: ClientSecret) async throws {
        var body = representation.body(settingSecret: secret)
        defer { _ = body.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let reply = try await call(.PUT, "/clients/" + FormEncoding.encode(uuid), body: body, role: .manageClients, action: "change clients")
        guard reply.status == 204 || reply.status == 200 else {
            throw reply.status == 404 ? gone(uuid) : malformed("PUT /clients/{id} answered HTTP \(reply.status)")
        }
    }

    /// `POST …/client-secret`: Keycloak generates a new secret and returns it (§4.4). Not
    /// retried: a second POST would replace the secret the first one made.
    func regenerateSecret(of uuid: String) async throws -> ClientSecret {
        let reply = try await call(.POST, "/clients/" + FormEncoding.encode(uuid) + "/client-secret", role: .manageClients,
                                   action: "regenerate client secrets", idempotent: false)
        guard reply.status == 200 else {
            throw reply.status == 404 ? gone(uuid) : malformed("POST …/client-secret answered HTTP \(reply.status)")
        }
        guard let secret = Self.secretValue(reply.body) else { throw malformed("POST …/client-secret answered without a secret value") }
        return secret
    }

    /// `GET …/client-secret`: the secret Keycloak holds now (26.8+ needs manage-clients, §0).
    func secret(of uuid: String) async throws -> ClientSecret? {
        let reply = try await call(.GET, "/clients/" + FormEncoding.encode(uuid) + "/client-secret", role: .manageClients, action: "read client secrets")
        if reply.status == 404 { throw gone(uuid) }
        guard reply.status == 200 else { throw malformed("GET …/client-secret answered HTTP \(reply.status)") }
        return Self.secretValue(reply.body)
    }

    /// `DELETE …/client-secret/rotated`: ends the old secret's dual validity at once (§4.6).
    func invalidateRotatedSecret(of uuid: String) async throws {
        let reply = try await call(.DELETE, "/clients/" + FormEncoding.encode(uuid) + "/client-secret/rotated", role: .manageClients,
                                   action: "invalidate rotated secrets", serverErrorMeansForbidden: true)
        guard reply.status == 204 || reply.status == 200 else { throw malformed("DELETE …/client-secret/rotated answered HTTP \(reply.status)") }
    }

    /// `{"type":"secret","value":"…"}` → the value, straight into secure memory.
    private static func secretValue(_ body: [UInt8]) -> ClientSecret? {
        guard case .object(let object)? = JSONReader.read(body),
              let value = object["value"]?.string, !value.isEmpty else { return nil }
        return try? ClientSecret(value)
    }

    // MARK: Transport

    /// Sends one admin call and returns its 2xx or 404 reply; every other answer is an error
    /// (after retries where a retry is safe).
    /// - Parameter serverErrorMeansForbidden: Keycloak answers a caller without manage-clients on
    ///   `DELETE …/rotated` with 500, not 403 (contract §4.7).
    func call(
        _ method: HTTPRequest.Method, _ path: String, body: [UInt8]? = nil, role: Role, action: String,
        idempotent: Bool = true, serverErrorMeansForbidden: Bool = false
    ) async throws -> Reply {
        var refreshed = false
        let policy = RetryPolicy(deadline: deadline, bodyLimit: Self.maximumBodySize, sleep: sleep)
        return try await transport.send(policy, request: {
            var headers = [HTTPHeader("Accept", "application/json"), HTTPHeader("Authorization", "Bearer " + (try await token(refreshed)))]
            if body != nil { headers.append(HTTPHeader("Content-Type", "application/json")) }
            // A copy of a PUT's body (which holds the new secret): the caller zeroes its own.
            return HTTPRequest(method, baseURL + path, headers: headers, body: body.map(HTTPBody.bytes), caFile: caFile)
        }, judge: { outcome in
            let reply: HTTPReply
            switch outcome {
            case .failure(.tooLarge):
                throw malformed("an answer was larger than \(Self.maximumBodySize / 1024) KiB")
            case .failure(.connectionRefused(let problem)):
                // Nothing was sent, so even a POST may be tried again.
                return .retry(problem: problem)
            case .failure(let failure):
                if let refused = failure.tlsRefusal(url: baseURL, realm: realm) { throw refused }
                guard idempotent else {
                    throw TokenError.unavailable("the admin API of realm \(realm) failed while asked to \(action) (\(failure)); not retried, since the call may have taken effect.")
                }
                return .retry(problem: "\(failure)")
            case .success(let answer):
                reply = answer
            }
            let status = reply.status
            switch status {
            case 200..<300, 404:
                return .success(Reply(status: status, body: reply.body))
            case 401 where !refreshed:
                refreshed = true  // the cached admin token may have been revoked: once more with a fresh one
                return .retryNow
            case 401:
                throw RotationError(.adminRefused, nil, "the admin API of realm \(realm) refused the token of admin client \(adminClient) (HTTP 401). It must be a confidential client with a service account in realm \(realm) or in master; on Keycloak 26.8.2 and later its client also needs the `kc-admin-api` client scope.", realm: realm)
            case 403:
                throw forbidden(role, action)
            case 500 where serverErrorMeansForbidden:
                throw RotationError(.adminRefused, nil, "the admin API of realm \(realm) answered HTTP 500 when admin client \(adminClient) tried to \(action): Keycloak answers so instead of 403 when the caller lacks the realm-management role \(role.rawValue) (contract §4.7). Grant that role to its service account.", realm: realm)
            case 409, 429:
                // Refused, not applied (a conflict, a rate limit): safe to retry whatever the
                // method. 409 (and 500) is also what Keycloak answers when a concurrent update of
                // the same client won an optimistic-lock race: trying again is the cure.
                return .retry(problem: "HTTP \(status)")
            case 500...599 where idempotent:
                return .retry(problem: "HTTP \(status)")
            case 500...599:
                throw TokenError.unavailable("the admin API of realm \(realm) answered HTTP \(status) when asked to \(action); not retried, since the call may have taken effect.")
            default:
                throw malformed("\(method) \(path.split(separator: "?").first ?? "") answered HTTP \(status)")
            }
        }, giveUp: { stop in
            // Cancelled: the cancellation itself, as before there was a transport.
            stop.cancellation ?? TokenError.unavailable("the admin API of realm \(realm) at \(TokenClient.host(baseURL)) did not \(action) within \(deadline) (\(stop.attempts) attempt\(stop.attempts == 1 ? "" : "s"), last: \(stop.lastProblem)).")
        })
    }

    private func forbidden(_ role: Role, _ action: String) -> RotationError {
        RotationError(.adminRefused, nil, "admin client \(adminClient) may not \(action) in realm \(realm) (HTTP 403): its service account needs the realm-management client role \(role.rawValue)\(adminClient.realm.rawValue == "master" ? " (from master: the \(realm)-realm client's \(role.rawValue) role)" : "").", realm: realm)
    }

    private func malformed(_ what: String) -> TokenError {
        .malformedResponse(.init("the admin API of realm \(realm) (\(baseURL)): \(what). Is the realm's admin URL right?", realm: realm, next: [.showRealm(realm)]))
    }

    private func gone(_ uuid: String) -> RotationError {
        RotationError(.unknownAtIdP, nil, "the client with id \(uuid) no longer exists in realm \(realm) at the IdP.", realm: realm)
    }
}
