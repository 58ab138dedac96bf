/// Builds and signs the tokens of a client_credentials grant, claim for claim as Keycloak does
/// for a service account.
struct TokenIssuer: Sendable {
    let keys: KeySet
    let compatibility: Compatibility

    /// Scopes whose mappers add claims but which Keycloak hides from the `scope` claim
    /// (`include.in.token.scope=false`).
    static let hiddenScopes: Set<String> = ["web-origins", "acr", "roles", "basic", "service_account"]

    struct Grant: Sendable {
        var issuer: String
        var realm: String
        var client: ClientRecord
        var lifespan: Int
        var now: Int
        /// Granted client scopes: the defaults, then requested optional ones.
        var scopes: [String]
        var openid: Bool
        var peerAddress: String
    }

    struct Issued: Sendable {
        var accessToken: String
        var idToken: String?
        var scope: String
    }

    func issue(_ grant: Grant) throws -> Issued {
        let client = grant.client
        let visibleScopes = (grant.openid ? ["openid"] : []) + grant.scopes.filter { !TokenIssuer.hiddenScopes.contains($0) }
        let scope = visibleScopes.joined(separator: " ")
        let exp = grant.now + grant.lifespan
        let subject = client.serviceAccountUser?.id ?? client.id
        let withRoles = grant.scopes.contains("roles")
        let withProfile = grant.scopes.contains("profile")
        let withEmail = grant.scopes.contains("email")

        var claims = JSONObject()
        claims["exp"] = .int(exp)
        claims["iat"] = .int(grant.now)
        claims["jti"] = .string((compatibility.jtiPrefix ? "trtcc:" : "") + Randomness.uuid())
        claims["iss"] = .string(grant.issuer)
        var resourceAccess = JSONObject()
        if withRoles {
            for (clientId, roles) in client.clientRoles.sorted(by: { $0.key < $1.key }) where !roles.isEmpty {
                let expanded = Roles.isAdminContainer(clientId, inRealm: grant.realm) ? Roles.expandAdminRoles(roles) : roles
                resourceAccess[clientId] = ["roles": .strings(expanded)]
            }
            if resourceAccess["account"] == nil {
                resourceAccess["account"] = ["roles": .strings(Roles.defaultAccountRoles)]
            }
            // Keycloak's audience mapper: every client the token holds roles of, except itself.
            let audience = resourceAccess.keys.filter { $0 != client.clientId }
            if audience.count == 1 {
                claims["aud"] = .string(audience[0])
            } else if !audience.isEmpty {
                claims["aud"] = .strings(audience)
            }
        }
        claims["sub"] = .string(subject)
        claims["typ"] = "Bearer"
        claims["azp"] = .string(client.clientId)
        claims["acr"] = "1"
        if withRoles {
            var realmRoles = Roles.defaultRealmRoles(realm: grant.realm)
            for role in client.realmRoles where !realmRoles.contains(role) { realmRoles.append(role) }
            claims["realm_access"] = ["roles": .strings(realmRoles)]
            claims["resource_access"] = .object(resourceAccess)
        }
        claims["scope"] = .string(scope)
        claims["clientHost"] = .string(grant.peerAddress)
        if withEmail { claims["email_verified"] = false }
        if withProfile { claims["preferred_username"] = .string(client.serviceAccountUsername) }
        claims["clientAddress"] = .string(grant.peerAddress)
        claims["client_id"] = .string(client.clientId)
        let accessToken = try keys.signing.sign(claims: JSONValue.object(claims).serialized)

        var idToken: String?
        if grant.openid {
            var id = JSONObject()
            id["exp"] = .int(exp)
            id["iat"] = .int(grant.now)
            id["jti"] = .string(Randomness.uuid())
            id["iss"] = .string(grant.issuer)
            id["aud"] = .string(client.clientId)
            id["sub"] = .string(subject)
            id["typ"] = "ID"
            id["azp"] = .string(client.clientId)
            id["at_hash"] = .string(TokenIssuer.accessTokenHash(accessToken))
            id["acr"] = "1"
            id["clientHost"] = .string(grant.peerAddress)
            if withEmail { id["email_verified"] = false }
            if withProfile { id["preferred_username"] = .string(client.serviceAccountUsername) }
            id["clientAddress"] = .string(grant.peerAddress)
            id["client_id"] = .string(client.clientId)
            idToken = try keys.signing.sign(claims: JSONValue.object(id).serialized)
        }
        return Issued(accessToken: accessToken, idToken: idToken, scope: scope)
    }
}
