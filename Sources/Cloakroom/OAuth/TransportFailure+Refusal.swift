import CloakroomHTTP

extension TransportFailure {
    /// A TLS failure is final: retrying will not make a certificate trusted. A certificate's next
    /// step is trusting a private CA for the realm whose `url` failed; another's, its URL.
    func tlsRefusal(url: String, realm: Name) -> TokenError? {
        switch self {
        case .tls(let problem):
            .refused(.init("TLS with \(TokenClient.host(url)) failed: \(problem).", realm: realm, next: [.showRealm(realm)]))
        case .untrustedCertificate(let problem):
            .refused(.init("TLS with \(TokenClient.host(url)) failed: \(problem).", realm: realm, next: [.updateRealm(realm, .caFile)]))
        default:
            nil
        }
    }
}
