#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

extension TokenBroker.Grant {
    /// The token as `cloak token --format json` prints it and the agent's `GET /v1/tokens/…`
    /// answers: one document for both, so a script can switch between them.
    package func document(now: Date) -> JSON {
        .object([
            "access_token": .string(token.value),
            "token_type": .string(token.tokenType),
            "expires_at": .string(token.expiresAt.iso8601),
            "expires_in": .number(max(0, Int64(token.remaining(at: now).inSeconds.rounded(.down)))),
            "scope": .optional(token.scope),
            "source": .string(source.rawValue),
        ])
    }
}
