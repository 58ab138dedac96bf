import CloakroomHTTP

extension TransportFailure {
    /// A TLS failure is final: retrying will not make a certificate trusted. Its next step is
    /// trusting a private CA for the realm whose `url` failed.
    func tlsRefusal(url: String, realm: Name) -> TokenError? {
        switch self {
        case .tls(let problem):
            .refused(.init("TLS with \(TokenClient.host(url)) failed (\(problem)).", realm: realm, next: [.updateRealm(realm, .caFile)]))
        case .untrustedCertificate(let problem):
            .refused(.init("the TLS certificate of \(TokenClient.host(url)) is not trusted (\(problem)).", realm: realm, next: [.updateRealm(realm, .caFile)]))
        default:
            nil
        }
    }
}
