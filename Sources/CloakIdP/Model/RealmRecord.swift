/// The live state of one realm.
struct RealmRecord: Sendable {
    var name: String
    var enabled: Bool
    var accessTokenLifespan: Int
    var sslRequired: SSLRequired
    var secretRotation: SecretRotationPolicy?
    var clientsById: [String: ClientRecord] = [:]
    var idsByClientId: [String: String] = [:]

    func client(clientId: String) -> ClientRecord? {
        idsByClientId[clientId].flatMap { clientsById[$0] }
    }

    mutating func insert(_ client: ClientRecord) {
        clientsById[client.id] = client
        idsByClientId[client.clientId] = client.id
    }
}
