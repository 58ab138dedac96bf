/// Why no token could be had. Messages name the realm, client and the IdP's `error` code, and
/// never a secret, a token or a response body.
public enum TokenError: CloakroomError {
    /// The IdP refused the credentials (400/401/403): not retried.
    case rejected(client: ClientRef, status: Int, error: String?, description: String?)
    /// The IdP could not be reached, or failed (5xx, 429, connection errors) until the deadline.
    case unavailable(Detail)
    /// The IdP answered, but not with a usable token.
    case malformedResponse(Detail)
    /// TLS or URL policy refused the endpoint (untrusted certificate, plain http).
    case refused(Detail)
    /// A token's signature, issuer or expiry was checked against its realm's JWKS, and was wrong.
    case verificationFailed(Detail)

    /// What a case other than `rejected` says: the message and what would help. Written as a
    /// string literal when nothing would.
    public struct Detail: Sendable, CustomStringConvertible, ExpressibleByStringInterpolation {
        /// What failed; never a secret or a body.
        public var message: String
        /// The realm concerned, when it is known.
        public var realm: Name?
        /// What would help, in order.
        public var next: [NextStep]

        /// A detail saying `message` about `realm`, and what would help.
        public init(_ message: String, realm: Name? = nil, next: [NextStep] = []) {
            self.message = message
            self.realm = realm
            self.next = next
        }

        /// A detail saying `value`, about no realm in particular, with no next step.
        public init(stringLiteral value: String) { self.init(value) }
        /// The same, for an interpolated string.
        public init(stringInterpolation: DefaultStringInterpolation) { self.init(String(stringInterpolation: stringInterpolation)) }

        /// The same as `message`.
        public var description: String { message }
    }

    /// One code per case: `rejected` is `credentialsRejected`, `unavailable` `idpUnavailable`,
    /// `malformedResponse` `idpMalformed`, `refused` `idpRefused`, `verificationFailed` `tokenInvalid`.
    public var code: ErrorCode {
        switch self {
        case .rejected: .credentialsRejected
        case .unavailable: .idpUnavailable
        case .malformedResponse: .idpMalformed
        case .refused: .idpRefused
        case .verificationFailed: .tokenInvalid
        }
    }

    /// What went wrong, naming the realm and client; never a secret or a body.
    public var message: String {
        switch self {
        case .rejected(let client, let status, let error, let description) where Self.refusesTheGrant(error: error, description: description):
            "the identity provider of realm \(client.realm) does not let client \(client) use the client-credentials grant (HTTP \(status)\(error.map { ", \($0)" } ?? "")\(description.map { ": \($0)" } ?? "")); the request was not retried."
        case .rejected(let client, let status, let error, let description):
            "the identity provider of realm \(client.realm) rejected client \(client) (HTTP \(status)\(error.map { ", \($0)" } ?? "")\(description.map { ": \($0)" } ?? "")); the request was not retried."
        case .unavailable(let detail), .malformedResponse(let detail), .refused(let detail), .verificationFailed(let detail):
            detail.message
        }
    }

    /// The client whose credentials were rejected; `nil` for the other cases.
    public var client: ClientRef? {
        if case .rejected(let client, _, _, _) = self { client } else { nil }
    }

    /// The realm concerned, when it is known.
    public var realm: Name? {
        switch self {
        case .rejected(let client, _, _, _): client.realm
        case .unavailable(let detail), .malformedResponse(let detail), .refused(let detail), .verificationFailed(let detail): detail.realm
        }
    }

    /// What would help: for rejected credentials, checking the client's stored settings.
    public var next: [NextStep] {
        switch self {
        case .rejected(let client, _, let error, let description) where Self.refusesTheGrant(error: error, description: description):
            [.allowClientCredentialsGrant(client)]
        case .rejected(let client, _, _, _): [.showClient(client), .updateClient(client), .syncRealm(client.realm)]
        case .unavailable(let detail), .malformedResponse(let detail), .refused(let detail), .verificationFailed(let detail): detail.next
        }
    }

    /// Whether a refusal is of the grant, not of the credentials: RFC 6749 §5.2's
    /// `unsupported_grant_type`, or Keycloak's `unauthorized_client` for a client without a
    /// service account ("Client not enabled to retrieve service account", and the public
    /// client's "… not allowed to retrieve service account"), which it also uses for a wrong
    /// secret (contract §1.2): only the description tells them apart.
    public static func refusesTheGrant(error: String?, description: String?) -> Bool {
        error == "unsupported_grant_type" || description?.contains("retrieve service account") == true
    }

    /// The same as `message`.
    public var description: String { message }
}
