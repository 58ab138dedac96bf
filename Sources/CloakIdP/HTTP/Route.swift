/// Which Keycloak endpoint a path names, independent of the method.
struct Route: Sendable, Equatable {
    enum Endpoint: Sendable, Equatable {
        case token
        case certs
        case discovery
        case realmInfo
        case adminClients
        case adminClient(id: String)
        case adminClientSecret(id: String)
        case adminRotatedSecret(id: String)
        case adminServiceAccountUser(id: String)
        /// Any other path under `/admin/realms/{realm}`.
        case adminOther
        case notFound
    }

    var endpoint: Endpoint
    /// The realm named in the path, percent-decoded.
    var realm: String?

    /// The name used by the request counters and fault filters.
    var name: String {
        switch endpoint {
        case .token: "token"
        case .certs: "certs"
        case .discovery: "discovery"
        case .realmInfo: "realm"
        case .adminClients: "admin.clients"
        case .adminClient: "admin.client"
        case .adminClientSecret: "admin.client-secret"
        case .adminRotatedSecret: "admin.client-secret.rotated"
        case .adminServiceAccountUser: "admin.service-account-user"
        case .adminOther: "admin.other"
        case .notFound: "not-found"
        }
    }

    var isAdmin: Bool { name.hasPrefix("admin.") }

    /// Parses a path with the server's relative path (e.g. `/auth`) already removed.
    init(path: String) {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map {
            (try? FormDecoding.decodePath($0)) ?? String($0)
        }
        realm = nil
        endpoint = .notFound
        switch segments.count {
        case 2 where segments[0] == "realms":
            realm = segments[1]
            endpoint = .realmInfo
        case 4 where segments[0] == "realms" && segments[2] == ".well-known" && segments[3] == "openid-configuration":
            realm = segments[1]
            endpoint = .discovery
        case 5 where segments[0] == "realms" && segments[2] == "protocol" && segments[3] == "openid-connect":
            realm = segments[1]
            switch segments[4] {
            case "token": endpoint = .token
            case "certs": endpoint = .certs
            default: break
            }
        default:
            guard segments.count >= 3, segments[0] == "admin", segments[1] == "realms" else { break }
            realm = segments[2]
            let rest = Array(segments.dropFirst(3))
            switch rest.count {
            case 1 where rest[0] == "clients": endpoint = .adminClients
            case 2 where rest[0] == "clients": endpoint = .adminClient(id: rest[1])
            case 3 where rest[0] == "clients" && rest[2] == "client-secret": endpoint = .adminClientSecret(id: rest[1])
            case 3 where rest[0] == "clients" && rest[2] == "service-account-user": endpoint = .adminServiceAccountUser(id: rest[1])
            case 4 where rest[0] == "clients" && rest[2] == "client-secret" && rest[3] == "rotated":
                endpoint = .adminRotatedSecret(id: rest[1])
            default: endpoint = .adminOther
            }
        }
    }
}

extension FormDecoding {
    /// Path segments are percent-decoded, but `+` stays a plus.
    static func decodePath(_ segment: some StringProtocol) throws -> String {
        guard segment.utf8.contains(UInt8(ascii: "%")) else { return String(segment) }
        return try decode(String(segment).replacingPlus())
    }
}

extension String {
    fileprivate func replacingPlus() -> String {
        var output = ""
        for character in self { output += character == "+" ? "%2B" : String(character) }
        return output
    }
}
