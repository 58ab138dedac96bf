import Synchronization

/// All realms and clients, shared by every request.
///
/// One lock for everything: requests hold it only to copy or change a record (never while
/// signing), so at a few thousand requests per second it is not contended.
final class Directory: Sendable {
    private let state: Mutex<[String: RealmRecord]>

    init(configuration: IdPConfiguration, now: Int) {
        var realms: [String: RealmRecord] = [:]
        var definitions = configuration.realms
        if !definitions.contains(where: { $0.name == "master" }) {
            definitions.insert(RealmConfiguration(name: "master"), at: 0)
        }
        let realmNames = definitions.map(\.name)
        for definition in definitions {
            var realm = RealmRecord(
                name: definition.name,
                enabled: definition.enabled,
                accessTokenLifespan: definition.effectiveAccessTokenLifespan,
                sslRequired: definition.sslRequired,
                secretRotation: definition.secretRotation
            )
            var clients = definition.clients
            if definition.builtInClients {
                let configured = Set(clients.map(\.clientId))
                clients += RealmConfiguration.builtInClients(realm: definition.name, allRealms: realmNames)
                    .filter { !configured.contains($0.clientId) }
            }
            for client in clients {
                realm.insert(Directory.record(for: client, compatibility: configuration.compatibility, now: now))
            }
            realms[definition.name] = realm
        }
        state = Mutex(realms)
    }

    private static func record(for client: ClientConfiguration, compatibility: Compatibility, now: Int) -> ClientRecord {
        let confidential = !client.publicClient && !client.bearerOnly
        var attributes = client.attributes
        // A bearer-only client may still hold a secret from older setups; Keycloak then answers
        // "Bearer-only not allowed" after checking it.
        let secret = client.publicClient ? nil : (client.secret ?? (confidential ? Randomness.alphanumericSecret(length: compatibility.secretLength) : nil))
        if confidential, attributes[SecretAttribute.creationTime] == nil {
            attributes[SecretAttribute.creationTime] = String(now)
        }
        return ClientRecord(
            id: client.id ?? Randomness.uuid(),
            clientId: client.clientId,
            name: client.name,
            secret: secret,
            enabled: client.enabled,
            publicClient: client.publicClient,
            bearerOnly: client.bearerOnly,
            serviceAccountsEnabled: client.serviceAccountsEnabled,
            serviceAccountUser: client.serviceAccountsEnabled
                ? ServiceAccountUser(id: Randomness.uuid(), enabled: client.serviceAccountUserEnabled, createdTimestamp: now * 1000)
                : nil,
            defaultClientScopes: client.defaultClientScopes,
            optionalClientScopes: client.optionalClientScopes,
            attributes: attributes,
            notBefore: 0,
            realmRoles: client.realmRoles,
            clientRoles: client.clientRoles,
            otherFields: JSONObject()
        )
    }

    /// A copy of the realm named `name`, if it exists.
    func realm(_ name: String) -> RealmRecord? {
        state.withLock { $0[name] }
    }

    /// Runs `body` on the realm named `name` under the lock; `nil` when there is no such realm.
    func updateRealm<Result>(_ name: String, _ body: (inout RealmRecord) throws -> Result) rethrows -> Result? {
        try state.withLock { realms -> Result? in
            guard var realm = realms[name] else { return nil }
            let result = try body(&realm)
            realms[name] = realm
            return result
        }
    }

    /// The realm and client for a token request, copied under the lock.
    func lookup(realm name: String, clientId: String) -> (RealmRecord, ClientRecord?)? {
        state.withLock { realms in
            guard let realm = realms[name] else { return nil }
            return (realm, realm.client(clientId: clientId))
        }
    }

    /// Just the realm settings a token request needs, without copying its clients.
    func realmSettings(_ name: String) -> RealmSettings? {
        state.withLock { realms in
            realms[name].map {
                RealmSettings(name: $0.name, enabled: $0.enabled, accessTokenLifespan: $0.accessTokenLifespan, sslRequired: $0.sslRequired)
            }
        }
    }

    /// A client of a realm by clientId.
    func client(realm name: String, clientId: String) -> ClientRecord? {
        state.withLock { $0[name]?.client(clientId: clientId) }
    }
}

/// Realm settings copied out for one request.
struct RealmSettings: Sendable {
    var name: String
    var enabled: Bool
    var accessTokenLifespan: Int
    var sslRequired: SSLRequired
}
