/// What a service needs from a broker: an access token for one of the vault's clients.
///
/// ``TokenBroker`` is the one that matters; the protocol is for a service's own tests, which can
/// hand a fake provider to code that takes `some TokenProvider` (or to
/// `CloakroomAsyncHTTPClient`'s `execute`) instead of a vault and an identity provider.
public protocol TokenProvider: Sendable {
    /// A token for `client` (`REALM/NAME`) good for at least `minimumTTL` more (the
    /// provider's default when `nil`); `refresh` asks for a new one, not a kept one.
    func token(for client: ClientRef, scopes: [String], audience: String?, minimumTTL: Duration?, refresh: Bool) async throws -> TokenBroker.Grant
}

extension TokenBroker: TokenProvider {}
