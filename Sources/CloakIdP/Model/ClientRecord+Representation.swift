extension ClientRecord {
    /// Representation fields the emulator echoes without interpreting, with Keycloak's defaults
    /// for a new confidential client, in the order 26.7.1 emits them.
    static let echoedFields: [(key: String, value: JSONValue)] = [
        ("surrogateAuthRequired", false),
        ("alwaysDisplayInConsole", false),
        ("clientAuthenticatorType", "client-secret"),
        ("redirectUris", []),
        ("webOrigins", []),
        ("consentRequired", false),
        ("standardFlowEnabled", true),
        ("implicitFlowEnabled", false),
        ("directAccessGrantsEnabled", false),
        ("frontchannelLogout", true),
        ("protocol", "openid-connect"),
        ("authenticationFlowBindingOverrides", [:]),
        ("fullScopeAllowed", true),
        ("nodeReRegistrationTimeout", -1),
    ].map { (key: $0.0, value: $0.1) }

    /// Optional string fields, shown only once set.
    static let optionalTextFields = ["description", "rootUrl", "adminUrl", "baseUrl"]

    private func echoed(_ key: String) -> JSONValue {
        otherFields[key] ?? ClientRecord.echoedFields.first(where: { $0.key == key })!.value
    }

    /// Keycloak's `ClientRepresentation`, fields in 26.7.1 order (§4.3).
    func representation(access: AdminPermissions, maskSecret: Bool) -> JSONValue {
        var object = JSONObject()
        object["id"] = .string(id)
        object["clientId"] = .string(clientId)
        if let name { object["name"] = .string(name) }
        for key in ["description", "rootUrl", "adminUrl", "baseUrl"] {
            if let value = otherFields[key] { object[key] = value }
        }
        object["surrogateAuthRequired"] = echoed("surrogateAuthRequired")
        object["enabled"] = .bool(enabled)
        object["alwaysDisplayInConsole"] = echoed("alwaysDisplayInConsole")
        object["clientAuthenticatorType"] = echoed("clientAuthenticatorType")
        if !publicClient, let secret {
            object["secret"] = .string(maskSecret ? "**********" : secret)
        }
        object["redirectUris"] = echoed("redirectUris")
        object["webOrigins"] = echoed("webOrigins")
        object["notBefore"] = .int(notBefore)
        object["bearerOnly"] = .bool(bearerOnly)
        object["consentRequired"] = echoed("consentRequired")
        object["standardFlowEnabled"] = echoed("standardFlowEnabled")
        object["implicitFlowEnabled"] = echoed("implicitFlowEnabled")
        object["directAccessGrantsEnabled"] = echoed("directAccessGrantsEnabled")
        object["serviceAccountsEnabled"] = .bool(serviceAccountsEnabled)
        object["publicClient"] = .bool(publicClient)
        object["frontchannelLogout"] = echoed("frontchannelLogout")
        object["protocol"] = echoed("protocol")
        var shownAttributes = JSONObject()
        for (key, value) in attributes.sorted(by: { $0.key < $1.key }) {
            // The rotated secret is a secret too: masked like the primary for view-only callers.
            let masked = maskSecret && key == SecretAttribute.rotated
            shownAttributes[key] = .string(masked ? "**********" : value)
        }
        object["attributes"] = .object(shownAttributes)
        object["authenticationFlowBindingOverrides"] = echoed("authenticationFlowBindingOverrides")
        object["fullScopeAllowed"] = echoed("fullScopeAllowed")
        object["nodeReRegistrationTimeout"] = echoed("nodeReRegistrationTimeout")
        object["defaultClientScopes"] = .strings(defaultClientScopes)
        object["optionalClientScopes"] = .strings(optionalClientScopes)
        object["access"] = access.accessJSON
        return .object(object)
    }

    /// Keycloak's `UserRepresentation` of the service-account user (no `access` block, §4.8).
    func serviceAccountRepresentation(_ user: ServiceAccountUser) -> JSONValue {
        [
            "id": .string(user.id),
            "username": .string(serviceAccountUsername),
            "emailVerified": false,
            "createdTimestamp": .int(user.createdTimestamp),
            "enabled": .bool(user.enabled),
            "totp": false,
            "serviceAccountClientId": .string(clientId),
            "disableableCredentialTypes": [],
            "requiredActions": [],
            "notBefore": 0,
        ]
    }
}
