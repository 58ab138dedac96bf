import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The shapes `cloak token` prints a token in.
enum TokenOutput {
    static func render(_ grant: TokenBroker.Grant, format: TokenCommand.Format, envVar: String, now: Date) -> String {
        let token = grant.token
        switch format {
        case .raw:
            return token.value + "\n"
        case .header:
            return "Authorization: Bearer \(token.value)\n"
        case .env:
            return "\(envVar)='\(token.value)'\n\(envVar)_EXPIRES_AT='\(Output.time(token.expiresAt))'\n"
        case .json:
            return grant.document(now: now).text
        case .execCredential:
            return JSON.object([
                "apiVersion": .string("client.authentication.k8s.io/v1"),
                "kind": .string("ExecCredential"),
                "status": .object([
                    "token": .string(token.value),
                    "expirationTimestamp": .string(Output.time(token.expiresAt)),
                ]),
            ]).text
        }
    }
}
