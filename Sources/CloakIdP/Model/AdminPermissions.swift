/// What a caller may do with the clients of one realm, from realm-management roles resolved on
/// each request (Keycloak's `AdminPermissionEvaluator.clients()`).
struct AdminPermissions: Equatable {
    /// May call `GET /clients` at all (query-clients, view-clients or manage-clients).
    var canList = false
    /// May read representations and secrets (view-clients, implied by manage-clients).
    var canView = false
    /// May change clients and secrets (manage-clients).
    var canManage = false

    static let none = AdminPermissions()
    static let all = AdminPermissions(canList: true, canView: true, canManage: true)

    init(canList: Bool = false, canView: Bool = false, canManage: Bool = false) {
        self.canList = canList
        self.canView = canView
        self.canManage = canManage
    }

    /// Permissions from the admin roles a caller holds on the target realm.
    init(roles: [String]) {
        let expanded = Set(Roles.expandAdminRoles(roles))
        canManage = expanded.contains(Roles.manageClients)
        canView = canManage || expanded.contains(Roles.viewClients)
        canList = canView || expanded.contains(Roles.queryClients)
    }

    /// The roles of `caller` (a service account of realm `callerRealm`) on `targetRealm`:
    /// master administers every realm through `admin` or the `{realm}-realm` client; any other
    /// realm only itself, through `realm-management`.
    static func of(_ caller: ClientRecord, callerRealm: String, targetRealm: String) -> AdminPermissions {
        if callerRealm == "master" {
            if caller.realmRoles.contains(Roles.masterAdmin) { return .all }
            return AdminPermissions(roles: caller.clientRoles["\(targetRealm)-realm"] ?? [])
        }
        guard callerRealm == targetRealm else { return .none }
        return AdminPermissions(roles: caller.clientRoles[Roles.realmManagement] ?? [])
    }

    /// The representation's `access` block.
    var accessJSON: JSONValue {
        ["view": .bool(canView), "configure": .bool(canManage), "manage": .bool(canManage)]
    }
}
