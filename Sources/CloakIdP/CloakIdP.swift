/// A Keycloak-compatible identity provider for loopback tests. Built in its own issue; this
/// module exists so the package has its final shape and `cloak-idp` can be found by scripts.
public enum CloakIdP {
    public static let version = "0.0.0"
}
