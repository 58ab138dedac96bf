import CloakroomHTTP

extension TransportFailure {
    /// A TLS failure is final: retrying will not make a certificate trusted. The message says
    /// how to trust a private CA for the realm whose `url` failed.
    func tlsRefusal(url: String, realm: Name) -> TokenError? {
        switch self {
        case .tls(let problem):
            .refused("TLS with \(TokenClient.host(url)) failed (\(problem)). If realm \(realm) uses a private CA, trust it with `cloak realm update \(realm) --ca-file CA.pem`.")
        case .untrustedCertificate(let problem):
            .refused("the TLS certificate of \(TokenClient.host(url)) is not trusted (\(problem)). If realm \(realm) uses a private CA, trust it with `cloak realm update \(realm) --ca-file CA.pem`.")
        default:
            nil
        }
    }
}
