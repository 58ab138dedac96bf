/// Why no token could be had. Messages name the realm, client and the IdP's `error` code, and
/// never a secret, a token or a response body.
public enum TokenError: Error, Sendable, CustomStringConvertible {
    /// The IdP refused the credentials (400/401/403): not retried.
    case rejected(client: ClientRef, status: Int, error: String?, description: String?)
    /// The IdP could not be reached, or failed (5xx, 429, connection errors) until the deadline.
    case unavailable(String)
    /// The IdP answered, but not with a usable token.
    case malformedResponse(String)
    /// TLS or URL policy refused the endpoint (untrusted certificate, plain http).
    case refused(String)
    /// A token's signature, issuer or expiry was checked against its realm's JWKS, and was wrong.
    case verificationFailed(String)

    /// What went wrong and what to do, naming the realm and client; never a secret or a body.
    public var description: String {
        switch self {
        case .rejected(let client, let status, let error, let description):
            "the identity provider of realm \(client.realm) rejected client \(client) (HTTP \(status)\(error.map { ", \($0)" } ?? "")\(description.map { ": \($0)" } ?? "")). Check its client_id and secret (`cloak client show \(client)`); the request was not retried."
        case .unavailable(let message), .malformedResponse(let message), .refused(let message), .verificationFailed(let message):
            message
        }
    }
}
