import HTTPTypes
import Hummingbird
import NIOCore

/// One request as the endpoints see it: head, collected body and where it came from.
struct Exchange {
    let request: Request
    let body: ByteBuffer?
    let peer: SocketAddress?
    /// `scheme://host[:port][/relative-path]` as the caller addressed us; Keycloak derives its
    /// issuer and discovery URLs from the request the same way when no hostname is configured.
    let publicBase: String

    var method: HTTPRequest.Method { request.method }
    var headers: HTTPFields { request.headers }

    var bodyText: String {
        body.map { String(buffer: $0) } ?? ""
    }

    /// The peer's IP address as text, e.g. `127.0.0.1`.
    var peerIP: String { peer?.ipAddress ?? "127.0.0.1" }

    /// Keycloak's notion of a local address for `sslRequired=external`.
    var isFromLocalAddress: Bool {
        guard let peer else { return true }
        switch peer {
        case .v4:
            let octets = (peer.ipAddress ?? "").split(separator: ".").compactMap { Int($0) }
            guard octets.count == 4 else { return false }
            return octets[0] == 127 || octets[0] == 10 || (octets[0] == 172 && (16...31).contains(octets[1]))
                || (octets[0] == 192 && octets[1] == 168) || octets.allSatisfy { $0 == 0 }
        case .v6:
            let address = peer.ipAddress ?? ""
            return address == "::1" || address.hasPrefix("::ffff:127.") || address.lowercased().hasPrefix("fc")
                || address.lowercased().hasPrefix("fd")
        case .unixDomainSocket: return true
        }
    }
}
