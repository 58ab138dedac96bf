import AsyncHTTPClient
import CloakIdP
import NIOCore
import NIOHTTP1
import Testing
import Foundation

/// One HTTP answer, body as text.
struct Reply: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: String

    var json: JSONValue? { try? JSONParser.parse(body) }

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// A running emulator on 127.0.0.1 and an HTTP client pointed at it.
struct Harness: Sendable {
    let idp: RunningIdentityProvider
    let http: HTTPClient
    var base: String { idp.baseURL }

    static let tokenPath = "/realms/r1/protocol/openid-connect/token"

    /// Sends one request; never follows redirects.
    func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(20))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// POSTs a form (fields in order, repeats allowed) to `path`.
    func form(_ fields: [(String, String)], to path: String = Harness.tokenPath, headers: [(String, String)] = []) async throws -> Reply {
        let body = fields.map { Harness.encode($0.0) + "=" + Harness.encode($0.1) }.joined(separator: "&")
        return try await send(.POST, path, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers, body: body)
    }

    /// client_secret_post against realm r1 (or `realm`).
    func token(_ clientId: String, _ secret: String?, realm: String = "r1", extra: [(String, String)] = []) async throws -> Reply {
        var fields = [("grant_type", "client_credentials"), ("client_id", clientId)]
        if let secret { fields.append(("client_secret", secret)) }
        return try await form(fields + extra, to: "/realms/\(realm)/protocol/openid-connect/token")
    }

    /// An access token of a fixture caller.
    func accessToken(of clientId: String) async throws -> String {
        let reply = try await token(clientId, Fixtures.secret(of: clientId), realm: Fixtures.realm(of: clientId))
        guard reply.status == 200, let token = reply.json?["access_token"]?.stringValue else {
            throw HarnessError("no token for \(clientId): \(reply.status)")
        }
        return token
    }

    /// An admin API call with a fixture caller's token (or an explicit `token`).
    func admin(_ method: HTTPMethod, _ path: String, as caller: String = "kc-admin", token: String? = nil, body: String? = nil) async throws -> Reply {
        let bearer: String
        if let token { bearer = token } else { bearer = try await accessToken(of: caller) }
        var headers = [("Authorization", "Bearer " + bearer)]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try await send(method, path, headers: headers, body: body)
    }

    /// The internal id of a client of r1 (or `realm`), through the admin API.
    func uuid(of clientId: String, realm: String = "r1") async throws -> String {
        let caller = realm == "r1" ? "kc-admin" : "master-admin"
        let reply = try await admin(.GET, "/admin/realms/\(realm)/clients?clientId=\(clientId)", as: caller)
        guard let id = reply.json?.arrayValue?.first?["id"]?.stringValue else { throw HarnessError("no client \(clientId)") }
        return id
    }

    /// POSTs a fault definition to the controls.
    func inject(_ fault: JSONValue) async throws {
        let reply = try await send(.POST, "/_cloak-idp/faults", headers: [("Content-Type", "application/json")], body: fault.serialized)
        guard reply.status == 201 else { throw HarnessError("fault refused: \(reply.body)") }
    }

    static func encode(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                output += "%" + (hex.count == 1 ? "0" : "") + hex
            }
        }
        return output
    }

    static func basic(_ clientId: String, _ secret: String) -> (String, String) {
        ("Authorization", "Basic " + Data((encode(clientId) + ":" + encode(secret)).utf8).base64EncodedString())
    }
}

struct HarnessError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body` against a fresh emulator on 127.0.0.1 (port 0), stopped afterwards even on failure.
func withIdP(
    _ configuration: IdPConfiguration = Fixtures.configuration(),
    options: ServerOptions = ServerOptions(),
    http: HTTPClient = .shared,
    _ body: (Harness) async throws -> Void
) async throws {
    let idp = try await IdentityProvider.start(configuration: configuration, options: options, keys: Fixtures.keys)
    do {
        try await body(Harness(idp: idp, http: http))
    } catch {
        await idp.stop()
        throw error
    }
    await idp.stop()
}

/// The claims of a JWT, unverified (verification has its own test).
func claims(of jwt: String) -> JSONObject? {
    let parts = jwt.split(separator: ".")
    guard parts.count == 3 else { return nil }
    var payload = String(parts[1]).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while payload.count % 4 != 0 { payload += "=" }
    guard let data = Data(base64Encoded: payload) else { return nil }
    return (try? JSONParser.parse(Array(data)))?.objectValue
}
