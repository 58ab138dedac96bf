import HTTPTypes
import Hummingbird
import NIOCore

/// Builders for the response shapes Keycloak uses.
enum Replies {
    static let pragma = HTTPField.Name("Pragma")!
    static let retryAfter = HTTPField.Name("Retry-After")!
    /// Set on a response to make ``ConnectionResetHandler`` drop the connection instead of sending it.
    static let resetMarker = HTTPField.Name("X-Cloak-Idp-Reset")!

    /// A JSON body with `Content-Type: application/json` (Keycloak's error bodies carry no charset).
    static func json(_ status: HTTPResponse.Status, _ body: String, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.utf8.count)
        return Response(status: status, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue, headers: HTTPFields = [:]) -> Response {
        json(status, value.serialized, headers: headers)
    }

    /// `{"error":…,"error_description":…}`.
    static func oauthError(_ status: HTTPResponse.Status, _ error: String, _ description: String, headers: HTTPFields = [:]) -> Response {
        json(status, JSONValue.object(["error": .string(error), "error_description": .string(description)]), headers: headers)
    }

    /// `{"error":…}` alone.
    static func error(_ status: HTTPResponse.Status, _ error: String, headers: HTTPFields = [:]) -> Response {
        json(status, JSONValue.object(["error": .string(error)]), headers: headers)
    }

    /// A successful admin read: Keycloak adds a charset and `Cache-Control: no-cache` there only.
    static func adminSuccess(_ value: JSONValue, cacheControl: Bool = true) -> Response {
        let body = value.serialized
        var fields: HTTPFields = [:]
        if cacheControl { fields[.cacheControl] = "no-cache" }
        fields[.contentType] = "application/json;charset=UTF-8"
        fields[.contentLength] = String(body.utf8.count)
        return Response(status: .ok, headers: fields, body: ResponseBody(byteBuffer: ByteBuffer(string: body)))
    }

    static func noContent() -> Response {
        Response(status: .noContent)
    }

    /// Headers Keycloak puts on every token-endpoint response, success or error.
    static let tokenHeaders: HTTPFields = [.cacheControl: "no-store", pragma: "no-cache"]

    static func html(_ status: HTTPResponse.Status) -> Response {
        let code = "\(status.code) \(status.reasonPhrase)"
        let body = "<html>\r\n<head><title>\(code)</title></head>\r\n<body>\r\n<center><h1>\(code)</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
        return Response(
            status: status,
            headers: [.contentType: "text/html", .contentLength: String(body.utf8.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}
