/// The emulator's state and the endpoints that read and change it; one per running server.
final class Emulator: Sendable {
    let directory: Directory
    let keys: KeySet
    let issuer: TokenIssuer
    let clock: IdPClock
    let counters = RequestCounters()
    let faults = FaultInjector()
    let compatibility: Compatibility
    /// `""`, or a prefix such as `/auth` that Keycloak ≤16 put before every path.
    let relativePath: String
    let isTLS: Bool

    init(configuration: IdPConfiguration, keys: KeySet, relativePath: String, isTLS: Bool) {
        let clock = IdPClock()
        self.clock = clock
        self.directory = Directory(configuration: configuration, now: clock.nowSeconds)
        self.keys = keys
        self.issuer = TokenIssuer(keys: keys, compatibility: configuration.compatibility)
        self.compatibility = configuration.compatibility
        self.relativePath = relativePath
        self.isTLS = isTLS
    }
}
