import CloakroomHTTP
import Synchronization

extension TokenBroker {
    /// The Keycloak admin API client for `realm`, once its trust settings verify: its admin URL,
    /// CA file and admin client, whose tokens this broker fetches and caches like any other's.
    /// For the rotator and realm sync alike.
    func admin(for realm: Name) async throws -> KeycloakAdmin {
        let record = try await vault.run { vault in
            let record = try vault.vault.realm(named: realm)
            try vault.requireTrusted(record)
            return record
        }
        guard let adminClient = record.adminClient else {
            throw RotationError(.adminRefused, nil, "realm \(realm) has no admin client, so its secrets cannot be rotated: it needs a client whose service account has the realm-management role manage-clients.", realm: realm, next: [.updateRealm(realm, .adminClient)])
        }
        guard let adminURL = record.adminURL else {
            throw RotationError(.adminRefused, nil, "realm \(realm) has no admin URL.", realm: realm, next: [.updateRealm(realm, .adminURL)])
        }
        let broker = self
        return KeycloakAdmin(
            baseURL: adminURL, caFile: record.caFile, realm: realm, adminClient: adminClient,
            deadline: configuration.deadline * 2, transport: client.transport,
            token: { refresh in try await broker.token(for: adminClient.description, refresh: refresh).token.value })
    }
}
