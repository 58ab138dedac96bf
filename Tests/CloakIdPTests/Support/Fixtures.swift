import CloakIdP

/// The realms of the contract's §7 defaults, plus callers for the role checks.
enum Fixtures {
    static let brokerSecret = "S3cr3tAAAAAAAAAAAAAAAAAAAAAAAAAA"
    static let nosaSecret = "NosaSecretAAAAAAAAAAAAAAAAAAAAAA"
    static let adminSecret = "AdminSecretAAAAAAAAAAAAAAAAAAAAA"
    static let viewerSecret = "ViewerSecretAAAAAAAAAAAAAAAAAAAA"
    static let querierSecret = "QuerierSecretAAAAAAAAAAAAAAAAAAA"
    static let norolesSecret = "NoRolesSecretAAAAAAAAAAAAAAAAAAA"
    static let r2AdminSecret = "R2AdminSecretAAAAAAAAAAAAAAAAAAA"
    static let masterAdminSecret = "MasterAdminSecretAAAAAAAAAAAAAAA"
    static let r1OperatorSecret = "R1OperatorSecretAAAAAAAAAAAAAAAA"

    /// Realm `r1` (lifespan 300) with broker-svc, pub, nosa and admin callers of each role;
    /// realm `r2` with its own admin; `master` with a global admin and an r1-only operator.
    static func configuration(rotation: SecretRotationPolicy? = nil, compatibility: Compatibility = Compatibility()) -> IdPConfiguration {
        var broker = ClientConfiguration(clientId: "broker-svc", secret: brokerSecret)
        broker.attributes = ["client.secret.creation.time": "1700000000"]
        var pub = ClientConfiguration(clientId: "pub")
        pub.publicClient = true
        var nosa = ClientConfiguration(clientId: "nosa", secret: nosaSecret)
        nosa.serviceAccountsEnabled = false
        var admin = ClientConfiguration(clientId: "kc-admin", secret: adminSecret)
        admin.clientRoles = ["realm-management": ["manage-clients"]]
        var viewer = ClientConfiguration(clientId: "viewer", secret: viewerSecret)
        viewer.clientRoles = ["realm-management": ["view-clients"]]
        var querier = ClientConfiguration(clientId: "querier", secret: querierSecret)
        querier.clientRoles = ["realm-management": ["query-clients"]]
        let noroles = ClientConfiguration(clientId: "noroles", secret: norolesSecret)
        var r1 = RealmConfiguration(name: "r1", clients: [broker, pub, nosa, admin, viewer, querier, noroles])
        r1.accessTokenLifespan = 300
        r1.secretRotation = rotation

        var r2Admin = ClientConfiguration(clientId: "r2-admin", secret: r2AdminSecret)
        r2Admin.clientRoles = ["realm-management": ["manage-clients"]]
        let r2 = RealmConfiguration(name: "r2", clients: [r2Admin, ClientConfiguration(clientId: "other-svc", secret: "OtherSecretAAAAAAAAAAAAAAAAAAAAA")])

        var masterAdmin = ClientConfiguration(clientId: "master-admin", secret: masterAdminSecret)
        masterAdmin.realmRoles = ["admin"]
        var r1Operator = ClientConfiguration(clientId: "r1-operator", secret: r1OperatorSecret)
        r1Operator.clientRoles = ["r1-realm": ["view-clients"]]
        let master = RealmConfiguration(name: "master", clients: [masterAdmin, r1Operator])
        return IdPConfiguration(realms: [master, r1, r2], compatibility: compatibility)
    }

    /// Secrets by (realm, clientId) for callers in tests.
    static func secret(of clientId: String) -> String {
        switch clientId {
        case "broker-svc": brokerSecret
        case "nosa": nosaSecret
        case "kc-admin": adminSecret
        case "viewer": viewerSecret
        case "querier": querierSecret
        case "noroles": norolesSecret
        case "r2-admin": r2AdminSecret
        case "master-admin": masterAdminSecret
        case "r1-operator": r1OperatorSecret
        default: "unknown"
        }
    }

    static func realm(of clientId: String) -> String {
        switch clientId {
        case "r2-admin": "r2"
        case "master-admin", "r1-operator": "master"
        default: "r1"
        }
    }

    /// Generated once: RSA key generation costs tens of milliseconds and every test starts a server.
    static let keys: KeySet = try! KeySet.generate()
}
