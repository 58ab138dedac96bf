/// Where and how the emulator listens.
public struct ServerOptions: Sendable {
    /// The address to bind; loopback unless you mean to expose a test IdP.
    public var host: String = "127.0.0.1"
    /// The TCP port; 0 picks a free one (read it back from ``RunningIdentityProvider/port``).
    public var port: Int = 0
    /// PEM files for HTTPS; plain HTTP when `nil`.
    public var tls: TLSFiles?
    /// A prefix before every Keycloak path, e.g. `/auth` as in Keycloak ≤16; empty by default.
    public var relativePath: String = ""
    /// Serve the test controls under `/_cloak-idp/`.
    public var controlsEnabled: Bool = true

    /// Loopback, a free port, plain HTTP, controls on.
    public init(host: String = "127.0.0.1", port: Int = 0, tls: TLSFiles? = nil, relativePath: String = "", controlsEnabled: Bool = true) {
        self.host = host
        self.port = port
        self.tls = tls
        self.relativePath = relativePath
        self.controlsEnabled = controlsEnabled
    }
}
