/// Role names and composites of the built-in clients that matter to a broker.
enum Roles {
    static let viewClients = "view-clients"
    static let manageClients = "manage-clients"
    static let queryClients = "query-clients"
    static let realmAdmin = "realm-admin"
    static let realmManagement = "realm-management"
    /// Master's realm role that administers every realm.
    static let masterAdmin = "admin"

    /// Every client role of `realm-management`, which `realm-admin` is composite over.
    static let allRealmManagement = [
        "view-realm", "view-identity-providers", "manage-identity-providers", "impersonation", "realm-admin",
        "create-client", "manage-users", "query-realms", "view-authorization", "query-clients", "query-users",
        "manage-events", "manage-realm", "view-events", "view-users", "view-clients", "manage-authorization",
        "manage-clients", "query-groups",
    ]

    /// Expands composite roles of an admin client (`realm-management` or master's `X-realm`), keeping order.
    /// manage-clients is not composite in Keycloak: it implies view-clients only in the permission check.
    static func expandAdminRoles(_ roles: [String]) -> [String] {
        var expanded: [String] = []
        func add(_ role: String) {
            if !expanded.contains(role) { expanded.append(role) }
        }
        for role in roles {
            add(role)
            switch role {
            case realmAdmin: allRealmManagement.forEach(add)
            case viewClients: add(queryClients)
            case "view-users":
                add("query-users")
                add("query-groups")
            default: break
            }
        }
        return expanded
    }

    /// Whether `clientId` is an admin-role container: `realm-management`, or `X-realm` in master.
    static func isAdminContainer(_ clientId: String, inRealm realm: String) -> Bool {
        clientId == realmManagement || (realm == "master" && clientId.hasSuffix("-realm"))
    }

    /// Realm roles every user gets through `default-roles-{realm}`.
    static func defaultRealmRoles(realm: String) -> [String] {
        ["default-roles-\(realm)", "offline_access", "uma_authorization"]
    }

    /// Client roles of `account` that `default-roles-{realm}` carries.
    static let defaultAccountRoles = ["manage-account", "manage-account-links", "view-profile"]
}
