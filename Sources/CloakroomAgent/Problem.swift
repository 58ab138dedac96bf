package import Cloakroom
internal import NIOHTTP1

/// An error as the agent answers it: `application/problem+json` (RFC 9457) with the library's
/// stable code, so that `cloak` maps it to the exit status it would have used itself.
package struct Problem: Error, Sendable {
    /// The HTTP status.
    package var status: Int
    /// The stable code: an `ErrorCode`'s raw value, or one of the agent's own (`forbidden`,
    /// `not_found` for an unknown path, `method_not_allowed`, `too_large`, `internal`).
    package var code: String
    /// What went wrong, for a person; never a secret or a token.
    package var detail: String
    /// The realm and client it concerns, when it concerns one.
    package var client: ClientRef?

    package init(status: Int, code: String, detail: String, client: ClientRef? = nil) {
        (self.status, self.code, self.detail, self.client) = (status, code, detail, client)
    }

    /// `error` as a problem: a `CloakroomError` keeps its code and message; anything else is an
    /// internal error whose text is not shown (it could hold anything).
    package init(_ error: any Error, client: ClientRef? = nil) {
        guard let error = error as? any CloakroomError else {
            self.init(status: 500, code: "internal", detail: "the agent failed unexpectedly; its log says more.", client: client)
            return
        }
        self.init(status: Self.status(for: error.code), code: error.code.rawValue, detail: error.message, client: client)
    }

    /// The HTTP status for each library code: the request's fault 4xx, the IdP's 502/503/504, the
    /// vault's 500.
    static func status(for code: ErrorCode) -> Int {
        switch code {
        case .invalidInput: 400
        case .notFound, .unknownAtIdP: 404
        case .alreadyExists, .conflict: 409
        case .busy, .vaultUnavailable: 503
        case .idpUnavailable: 504
        case .credentialsRejected, .idpMalformed, .idpRefused, .tokenInvalid, .adminRefused: 502
        case .cannotUnlock, .corrupted, .notAVault, .newerSchema, .permissions, .io, .rotationFailed, .rotationUnresolved: 500
        }
    }

    /// The RFC 9457 body: `type` is `about:blank` (the `code` member says which problem it is).
    package var document: JSON {
        var fields: [(String, JSON)] = [
            ("type", .string("about:blank")),
            ("title", .string(Self.title(status))),
            ("status", .number(Int64(status))),
            ("detail", .string(detail)),
            ("code", .string(code)),
        ]
        if let client {
            fields.append(("realm", .string(client.realm.rawValue)))
            fields.append(("client", .string(client.name.rawValue)))
        }
        return .fields(fields)
    }

    /// The status's reason phrase, as NIO knows it (`Not Found`, `Too Many Requests`).
    static func title(_ status: Int) -> String { HTTPResponseStatus(statusCode: status).reasonPhrase }
}
