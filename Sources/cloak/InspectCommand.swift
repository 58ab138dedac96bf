import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show the claims of a client's current token: subject, azp, audience, roles, scope, expiry.",
        discussion: """
            The token comes as `cloak token` would get it. Its signature is checked against the \
            realm's JWKS (named by the issuer's discovery document, or next to a Keycloak token URL), \
            with its exp and, when the realm has an issuer, its iss; the output says exactly what was \
            verified, or why nothing could be. A signature, issuer or expiry that is checked and \
            wrong is an error (exit 15).

            Examples:
              cloak inspect prod/orders
              cloak inspect prod/orders --json
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("The client.", valueName: "realm/name"), completion: Completion.clients) var ref: String

    func run() throws {
        let broker = try TokenCommand.broker(options, ref: ref, minTTL: 0)
        let grant = try TokenCommand.grant(broker, ref: ref, scopes: [], audience: nil, refresh: false)
        guard let jwt = JWT(grant.token.value) else {
            throw UsageError("\(ref)'s token is opaque (not a JWT): it has no claims to show.")
        }
        let token = grant.token, ref = ref
        let check = try blocking { try await broker.verify(token, for: ref) }
        let claims = jwt.claims
        func text(_ key: String) -> String? { claims[key]?.string }
        func time(_ key: String) -> String? { claims[key]?.number.map { Output.time(Date(timeIntervalSince1970: $0)) } }
        var realmRoles: [String] = []
        if case .object(let access)? = claims["realm_access"] { realmRoles = access["roles"]?.strings ?? [] }
        var clientRoles: [(String, [String])] = []
        if case .object(let access)? = claims["resource_access"] {
            for (client, value) in access.sorted(by: { $0.key < $1.key }) {
                if case .object(let entry) = value { clientRoles.append((client, entry["roles"]?.strings ?? [])) }
            }
        }
        if output.json {
            return Output.json(.object([
                "client": .string(ref),
                "subject": .optional(text("sub")),
                "azp": .optional(text("azp")),
                "client_id": .optional(text("client_id") ?? text("clientId")),
                "issuer": .optional(text("iss")),
                "audience": .strings(claims["aud"]?.strings ?? []),
                "scope": .optional(text("scope")),
                "realm_roles": .strings(realmRoles),
                "client_roles": .fields(clientRoles.map { ($0.0, .strings($0.1)) }),
                "issued_at": .optional(time("iat")),
                "expires_at": .optional(time("exp")),
                "algorithm": .optional(jwt.header["alg"]?.string),
                "key_id": .optional(jwt.header["kid"]?.string),
                "signature": .string(check.description),
                "signature_verified": .bool(check.isVerified),
            ]))
        }
        var lines: [(String, String)] = [
            ("client", ref),
            ("subject", text("sub") ?? "-"),
            ("azp", text("azp") ?? "-"),
            ("issuer", text("iss") ?? "-"),
            ("audience", claims["aud"]?.strings.joined(separator: " ") ?? "-"),
            ("scope", text("scope") ?? "-"),
            ("realm roles", realmRoles.isEmpty ? "-" : realmRoles.joined(separator: " ")),
        ]
        for (client, roles) in clientRoles { lines.append(("roles of \(client)", roles.joined(separator: " "))) }
        lines += [
            ("issued", time("iat") ?? "-"),
            ("expires", time("exp") ?? "-"),
            ("signature", check.isVerified ? check.description
                : "\(jwt.header["alg"]?.string ?? "?") key \(jwt.header["kid"]?.string ?? "?"), \(check.description)"),
        ]
        Output.record(lines)
    }
}
