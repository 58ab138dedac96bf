import HTTPTypes
import Hummingbird

extension Emulator {
    /// A service account that presented a valid bearer token.
    struct AdminCaller {
        var realm: String
        var client: ClientRecord
    }

    private static let unauthorized = "HTTP 401 Unauthorized"

    private var forbidden: Response {
        Replies.error(.forbidden, compatibility.legacyForbiddenBody ? "unknown_error" : "HTTP 403 Forbidden")
    }

    /// The caller behind `Authorization: Bearer …`: a token this server signed, unexpired by the
    /// emulator's clock, whose realm, client and service-account user still exist and are enabled.
    /// The issuer's host is not compared, so a token fetched via `localhost` works via `127.0.0.1`.
    func adminCaller(_ headers: HTTPFields) -> AdminCaller? {
        guard let authorization = headers[.authorization] else { return nil }
        let trimmed = Text.trimmed(authorization)
        guard trimmed.count > 7, trimmed.prefix(7).lowercased() == "bearer " else { return nil }
        guard let claims = keys.signing.verifiedClaims(of: Text.trimmed(trimmed.dropFirst(7))),
            claims["typ"] == "Bearer",
            let exp = claims["exp"]?.intValue, exp > clock.nowSeconds,
            let issuer = claims["iss"]?.stringValue,
            let realmRange = issuer.ranges(of: "/realms/").last,
            let clientId = claims["azp"]?.stringValue,
            let subject = claims["sub"]?.stringValue
        else { return nil }
        let realm = String(issuer[realmRange.upperBound...])
        guard let client = directory.client(realm: realm, clientId: clientId), client.enabled,
            let user = client.serviceAccountUser, user.enabled, user.id == subject
        else { return nil }
        return AdminCaller(realm: realm, client: client)
    }

    /// Everything under `/admin/realms/{realm}`, checked in Keycloak's order: authentication,
    /// realm, cross-realm access, client lookup, body, then the call's role.
    func admin(route: Route, _ exchange: Exchange) -> Outcome {
        guard let caller = adminCaller(exchange.headers) else {
            return Outcome(response: Replies.error(.unauthorized, Emulator.unauthorized))
        }
        let callerId = caller.client.clientId
        guard let target = route.realm, let realm = directory.realm(target) else {
            return Outcome(response: Replies.error(.notFound, "Realm not found."), clientId: callerId)
        }
        if caller.realm != "master" && caller.realm != target {
            return Outcome(response: forbidden, clientId: callerId)
        }
        let permissions = AdminPermissions.of(caller.client, callerRealm: caller.realm, targetRealm: target)
        var response: Response
        switch route.endpoint {
        case .adminClients:
            response = clients(in: realm, exchange, permissions)
        case .adminClient(let id), .adminClientSecret(let id), .adminRotatedSecret(let id), .adminServiceAccountUser(let id):
            // ClientsResource.getClient: an unknown id is 404 only for callers who may list clients.
            guard let client = realm.clientsById[id] else {
                response = permissions.canList ? Replies.error(.notFound, "Could not find client") : forbidden
                break
            }
            response = clientCall(route.endpoint, client, realm: realm, exchange, permissions)
        default:
            response = Replies.error(.notFound, "HTTP 404 Not Found")
        }
        return Outcome(response: response, clientId: callerId)
    }

    private func clients(in realm: RealmRecord, _ exchange: Exchange, _ permissions: AdminPermissions) -> Response {
        switch exchange.method {
        case .get:
            guard permissions.canList else { return forbidden }
            let query = exchange.request.uri.queryParameters
            func parameter(_ name: String) -> String? {
                query[Substring(name)].map { (try? FormDecoding.decode($0)) ?? String($0) }
            }
            // query-clients alone lists nothing: each client is then filtered by view permission.
            guard permissions.canView else { return Replies.adminSuccess([]) }
            var matches: [ClientRecord]
            if let clientId = parameter("clientId") {
                if parameter("search") == "true" {
                    let needle = clientId.lowercased()
                    matches = realm.clientsById.values.filter { $0.clientId.lowercased().contains(needle) }
                } else {
                    matches = realm.client(clientId: clientId).map { [$0] } ?? []
                }
            } else {
                matches = Array(realm.clientsById.values)
            }
            if let q = parameter("q") {
                let filters = q.split(separator: " ").compactMap { term -> (String, String)? in
                    let parts = term.split(separator: ":", maxSplits: 1)
                    return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
                }
                matches = matches.filter { client in filters.allSatisfy { client.attributes[$0.0] == $0.1 } }
            }
            matches.sort { $0.clientId < $1.clientId }
            // Keycloak ignores a negative first and treats a negative max as "no limit".
            let first = max(0, parameter("first").flatMap { Int($0) } ?? 0)
            let limit = parameter("max").flatMap { Int($0) }.flatMap { $0 < 0 ? nil : $0 }
            let page = matches.dropFirst(first).prefix(limit ?? Int.max)
            let mask = compatibility.maskSecretsForViewers && !permissions.canManage
            return Replies.adminSuccess(.array(page.map { $0.representation(access: permissions, maskSecret: mask) }))
        case .post:
            return createClient(in: realm, exchange, permissions)
        default:
            return Replies.error(.methodNotAllowed, "HTTP 405 Method Not Allowed")
        }
    }

    private func createClient(in realm: RealmRecord, _ exchange: Exchange, _ permissions: AdminPermissions) -> Response {
        guard let body = try? JSONParser.parse(exchange.bodyText.utf8), let fields = body.objectValue else {
            return Replies.oauthError(.badRequest, "invalid_request", "Cannot parse the JSON")
        }
        guard permissions.canManage else { return forbidden }
        guard let clientId = fields["clientId"]?.stringValue, !clientId.isEmpty else {
            return Replies.json(.badRequest, ["errorMessage": "Client id is mandatory"] as JSONValue)
        }
        let now = clock.nowSeconds
        var client = ClientRecord(
            id: fields["id"]?.stringValue ?? Randomness.uuid(),
            clientId: clientId,
            name: nil,
            secret: nil,
            enabled: true,
            publicClient: false,
            bearerOnly: false,
            serviceAccountsEnabled: false,
            serviceAccountUser: nil,
            defaultClientScopes: ClientConfiguration.keycloakDefaultScopes,
            optionalClientScopes: ClientConfiguration.keycloakOptionalScopes,
            attributes: [:],
            notBefore: 0,
            realmRoles: [],
            clientRoles: [:],
            otherFields: JSONObject()
        )
        if let scopes = fields["defaultClientScopes"]?.arrayValue { client.defaultClientScopes = scopes.compactMap(\.stringValue) }
        if let scopes = fields["optionalClientScopes"]?.arrayValue { client.optionalClientScopes = scopes.compactMap(\.stringValue) }
        if case .failure(let response) = apply(fields, to: &client, realm: realm, now: now, creating: true) { return response }
        let created: Bool =
            directory.updateRealm(realm.name) { live in
                guard live.client(clientId: clientId) == nil, live.clientsById[client.id] == nil else { return false }
                live.insert(client)
                return true
            } ?? false
        guard created else { return Replies.json(.conflict, ["errorMessage": .string("Client \(clientId) already exists")] as JSONValue) }
        var headers = HTTPFields()
        headers[.location] = exchange.publicBase + "/admin/realms/" + realm.name + "/clients/" + client.id
        return Response(status: .created, headers: headers)
    }

    private func clientCall(
        _ endpoint: Route.Endpoint,
        _ client: ClientRecord,
        realm: RealmRecord,
        _ exchange: Exchange,
        _ permissions: AdminPermissions
    ) -> Response {
        let readSecret = compatibility.secretReadRequiresManage ? permissions.canManage : permissions.canView
        let now = clock.nowSeconds
        switch (endpoint, exchange.method) {
        case (.adminClient, .get):
            guard permissions.canView else { return forbidden }
            let mask = compatibility.maskSecretsForViewers && !permissions.canManage
            return Replies.adminSuccess(client.representation(access: permissions, maskSecret: mask))

        case (.adminClient, .put):
            // JAX-RS reads the entity before the method checks roles: bad JSON wins over 403.
            guard let body = try? JSONParser.parse(exchange.bodyText.utf8), let fields = body.objectValue else {
                return Replies.oauthError(.badRequest, "invalid_request", "Cannot parse the JSON")
            }
            guard permissions.canManage else { return forbidden }
            var updated = client
            if case .failure(let response) = apply(fields, to: &updated, realm: realm, now: now, creating: false) { return response }
            let stored: Bool =
                directory.updateRealm(realm.name) { live in
                    guard var current = live.clientsById[client.id] else { return false }
                    if updated.clientId != current.clientId {
                        guard live.idsByClientId[updated.clientId] == nil else { return false }
                        live.idsByClientId[current.clientId] = nil
                    }
                    // Apply again on the live record so concurrent changes to other fields survive.
                    _ = apply(fields, to: &current, realm: live, now: now, creating: false)
                    live.insert(current)
                    return true
                } ?? false
            guard stored else { return Replies.json(.conflict, ["errorMessage": "Client already exists"] as JSONValue) }
            return Replies.noContent()

        case (.adminClient, .delete):
            guard permissions.canManage else { return forbidden }
            _ = directory.updateRealm(realm.name) { live in
                live.clientsById[client.id] = nil
                live.idsByClientId[client.clientId] = nil
            }
            return Replies.noContent()

        case (.adminClientSecret, .get):
            guard readSecret else { return forbidden }
            var object: JSONObject = ["type": "secret"]
            if !client.publicClient, let secret = client.secret { object["value"] = .string(secret) }
            return Replies.adminSuccess(.object(object))

        case (.adminClientSecret, .post):
            guard permissions.canManage else { return forbidden }
            let secret = Randomness.alphanumericSecret(length: compatibility.secretLength)
            _ = directory.updateRealm(realm.name) { live in
                guard var current = live.clientsById[client.id] else { return }
                SecretRotation.install(secret, in: &current, policy: live.secretRotation, now: now, setsCreationTime: true)
                live.clientsById[client.id] = current
            }
            return Replies.adminSuccess(["type": "secret", "value": .string(secret)], cacheControl: false)

        case (.adminRotatedSecret, .get):
            guard readSecret else { return forbidden }
            guard let rotated = client.attributes[SecretAttribute.rotated] else {
                return Replies.error(.notFound, "Client does not have a rotated secret")
            }
            return Replies.adminSuccess(["type": "secret", "value": .string(rotated)])

        case (.adminRotatedSecret, .delete):
            // Keycloak quirk (§4.7): invalidateRotatedSecret catches its own ForbiddenException as a
            // RuntimeException and fails while wrapping it, so a missing role is a 500, not a 403.
            guard permissions.canManage else {
                return Replies.oauthError(.internalServerError, "unknown_error", "For more on this error consult the server log.")
            }
            _ = directory.updateRealm(realm.name) { live in
                guard var current = live.clientsById[client.id] else { return }
                SecretRotation.clearRotated(in: &current)
                live.clientsById[client.id] = current
            }
            return Replies.noContent()

        case (.adminServiceAccountUser, .get):
            guard permissions.canView else { return forbidden }
            guard client.serviceAccountsEnabled, let user = client.serviceAccountUser else {
                return Replies.error(.badRequest, "Service account not enabled for the client '\(client.clientId)'")
            }
            return Replies.adminSuccess(client.serviceAccountRepresentation(user))

        default:
            return Replies.error(.methodNotAllowed, "HTTP 405 Method Not Allowed")
        }
    }

    private enum Applied {
        case success
        case failure(Response)
    }

    /// Applies a (possibly partial) representation as `RepresentationToModel.updateClient` does:
    /// absent or null fields keep their value; `secret` is taken verbatim for a confidential client
    /// and cleared for public or bearer-only ones; the creation time is not touched.
    private func apply(_ fields: JSONObject, to client: inout ClientRecord, realm: RealmRecord, now: Int, creating: Bool) -> Applied {
        let invalid = Applied.failure(Replies.oauthError(.badRequest, "invalid_request", "Cannot parse the JSON"))
        func bool(_ key: String) -> Bool?? {
            guard let value = fields[key], value != .null else { return .some(nil) }
            return value.boolValue.map { .some($0) } ?? nil
        }
        for key in ["enabled", "publicClient", "bearerOnly", "serviceAccountsEnabled"] {
            guard let parsed = bool(key) else { return invalid }
            guard let value = parsed else { continue }
            switch key {
            case "enabled": client.enabled = value
            case "publicClient": client.publicClient = value
            case "bearerOnly": client.bearerOnly = value
            default: client.serviceAccountsEnabled = value
            }
        }
        if let value = fields["clientId"], value != .null {
            guard let clientId = value.stringValue, !clientId.isEmpty else { return invalid }
            client.clientId = clientId
        }
        if let value = fields["name"], value != .null {
            guard let name = value.stringValue else { return invalid }
            client.name = name
        }
        if let value = fields["notBefore"], value != .null {
            guard let notBefore = value.intValue else { return invalid }
            client.notBefore = notBefore
        }
        if let value = fields["attributes"], value != .null {
            guard let attributes = value.objectValue else { return invalid }
            for member in attributes.members {
                switch member.value {
                case .null: client.attributes[member.key] = nil
                case .string(let text): client.attributes[member.key] = text
                case .bool(let flag): client.attributes[member.key] = String(flag)
                case .int(let number): client.attributes[member.key] = String(number)
                default: return invalid
                }
            }
        }
        for key in ClientRecord.echoedFields.map(\.key) + ClientRecord.optionalTextFields {
            if let value = fields[key], value != .null { client.otherFields[key] = value }
        }
        if client.serviceAccountsEnabled && client.serviceAccountUser == nil {
            client.serviceAccountUser = ServiceAccountUser(id: Randomness.uuid(), enabled: true, createdTimestamp: now * 1000)
        }
        if client.isConfidential {
            var newSecret: String?
            if let value = fields["secret"], value != .null {
                guard let text = value.stringValue else { return invalid }
                // 26.8 masks secrets for viewers; putting the mask back must not become the secret.
                if !(compatibility.maskSecretsForViewers && text == "**********") { newSecret = text }
            }
            if let newSecret {
                SecretRotation.install(newSecret, in: &client, policy: realm.secretRotation, now: now, setsCreationTime: creating)
            } else if client.secret == nil {
                let generated = Randomness.alphanumericSecret(length: compatibility.secretLength)
                SecretRotation.install(generated, in: &client, policy: nil, now: now, setsCreationTime: true)
            } else if realm.secretRotation == nil {
                for key in SecretAttribute.rotationKeys { client.attributes[key] = nil }
            }
        } else {
            client.secret = nil
        }
        if creating, client.attributes[SecretAttribute.creationTime] == nil, client.isConfidential {
            client.attributes[SecretAttribute.creationTime] = String(now)
        }
        return .success
    }
}
