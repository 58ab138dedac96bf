import Hummingbird

extension Emulator {
    /// `GET …/.well-known/openid-configuration`: absolute URLs under the issuer the caller sees.
    func discovery(realm: String, _ exchange: Exchange) -> Outcome {
        guard directory.realmSettings(realm) != nil else {
            return Outcome(response: Replies.error(.notFound, "Realm does not exist"))
        }
        let issuer = exchange.publicBase + "/realms/" + realm
        let oidc = issuer + "/protocol/openid-connect"
        let document: JSONValue = [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(oidc + "/auth"),
            "token_endpoint": .string(oidc + "/token"),
            "introspection_endpoint": .string(oidc + "/token/introspect"),
            "userinfo_endpoint": .string(oidc + "/userinfo"),
            "end_session_endpoint": .string(oidc + "/logout"),
            "frontchannel_logout_session_supported": true,
            "frontchannel_logout_supported": true,
            "jwks_uri": .string(oidc + "/certs"),
            "check_session_iframe": .string(oidc + "/login-status-iframe.html"),
            "grant_types_supported": .strings([
                "authorization_code", "client_credentials", "implicit", "password", "refresh_token",
                "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:jwt-bearer",
                "urn:ietf:params:oauth:grant-type:token-exchange", "urn:ietf:params:oauth:grant-type:uma-ticket",
                "urn:openid:params:grant-type:ciba",
            ]),
            "acr_values_supported": .strings(["0", "1"]),
            "response_types_supported": .strings([
                "code", "none", "id_token", "token", "id_token token", "code id_token", "code token", "code id_token token",
            ]),
            "subject_types_supported": .strings(["public", "pairwise"]),
            "id_token_signing_alg_values_supported": .strings(["RS256"]),
            "userinfo_signing_alg_values_supported": .strings(["RS256", "none"]),
            "request_object_signing_alg_values_supported": .strings(["RS256", "none"]),
            "response_modes_supported": .strings(["query", "fragment", "form_post", "query.jwt", "fragment.jwt", "form_post.jwt", "jwt"]),
            "registration_endpoint": .string(issuer + "/clients-registrations/openid-connect"),
            "token_endpoint_auth_methods_supported": .strings([
                "private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt",
            ]),
            "token_endpoint_auth_signing_alg_values_supported": .strings(["RS256"]),
            "introspection_endpoint_auth_methods_supported": .strings([
                "private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt",
            ]),
            "claims_supported": .strings([
                "aud", "sub", "iss", "auth_time", "name", "given_name", "family_name", "preferred_username", "email", "acr",
            ]),
            "claim_types_supported": .strings(["normal"]),
            "claims_parameter_supported": true,
            "scopes_supported": .strings([
                "openid", "profile", "email", "address", "phone", "offline_access", "roles", "web-origins", "acr", "basic",
                "microprofile-jwt", "organization",
            ]),
            "request_parameter_supported": true,
            "request_uri_parameter_supported": true,
            "require_request_uri_registration": true,
            "code_challenge_methods_supported": .strings(["plain", "S256"]),
            "tls_client_certificate_bound_access_tokens": true,
            "revocation_endpoint": .string(oidc + "/revoke"),
            "revocation_endpoint_auth_methods_supported": .strings([
                "private_key_jwt", "client_secret_basic", "client_secret_post", "tls_client_auth", "client_secret_jwt",
            ]),
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
            "device_authorization_endpoint": .string(oidc + "/auth/device"),
            "authorization_response_iss_parameter_supported": true,
        ]
        return Outcome(response: Replies.json(.ok, document))
    }

    /// `GET …/protocol/openid-connect/certs`.
    func certs(realm: String) -> Outcome {
        guard directory.realmSettings(realm) != nil else {
            return Outcome(response: Replies.error(.notFound, "Realm does not exist"))
        }
        return Outcome(response: Replies.json(.ok, keys.jwks))
    }

    /// `GET /realms/{realm}`: the public realm description some clients (python-keycloak's
    /// `public_key()`) read the verification key from.
    func realmInfo(realm: String, _ exchange: Exchange) -> Outcome {
        guard directory.realmSettings(realm) != nil else {
            return Outcome(response: Replies.error(.notFound, "Realm does not exist"))
        }
        let issuer = exchange.publicBase + "/realms/" + realm
        let document: JSONValue = [
            "realm": .string(realm),
            "public_key": .string(keys.signing.publicKeyBase64),
            "token-service": .string(issuer + "/protocol/openid-connect"),
            "account-service": .string(issuer + "/account"),
            "tokens-not-before": 0,
        ]
        return Outcome(response: Replies.json(.ok, document))
    }
}
