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
            The token comes as `cloak token` would get it. Its signature is not verified yet: that \
            needs the realm's JWKS, which arrives with issuer discovery; the output says so.
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("The client.", valueName: "realm/name")) var ref: String

    func run() throws {
        let grant = try TokenCommand.grant(options, ref: ref, scopes: [], audience: nil, minTTL: 0, refresh: false)
        guard let jwt = JWT(grant.token.value) else {
            throw UsageError("\(ref)'s token is opaque (not a JWT): it has no claims to show.")
        }
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
        let verification = "not verified (the realm has no JWKS yet)"
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
                "signature": .string(verification),
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
            ("signature", "\(jwt.header["alg"]?.string ?? "?") key \(jwt.header["kid"]?.string ?? "?"), \(verification)"),
        ]
        Output.record(lines)
    }
}
