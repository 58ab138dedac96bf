import HTTPTypes
import Hummingbird
import NIOCore

/// Routes every request to an endpoint of the ``Emulator``, applying injected faults and
/// counting what was answered.
///
/// A hand-written dispatcher rather than Hummingbird's router: the counters and fault filters
/// need the route name and realm of every request, including unmatched ones.
struct IdPResponder: HTTPResponder {
    typealias Context = IdPRequestContext

    let emulator: Emulator
    let controlsEnabled: Bool
    /// `http` or `https`, for the URLs a caller is told.
    let scheme: String
    /// `host:port` used when a request carries no Host header.
    let fallbackAuthority: String

    func respond(to request: Request, context: Context) async throws -> Response {
        var path = request.uri.path
        let relativePath = emulator.relativePath
        // The controls stay at the root whatever the relative path, so test code needs no prefix.
        let isControl = controlsEnabled && (path == Emulator.controlsPrefix || path.hasPrefix(Emulator.controlsPrefix + "/"))
        if !relativePath.isEmpty && !isControl {
            guard path == relativePath || path.hasPrefix(relativePath + "/") else {
                return Replies.error(.notFound, "HTTP 404 Not Found")
            }
            path = String(path.dropFirst(relativePath.count))
        }

        let body: ByteBuffer?
        if request.method == .post || request.method == .put || request.method == .patch || request.method == .delete {
            do {
                body = try await request.body.collect(upTo: context.maxUploadSize)
            } catch {
                return Replies.error(.contentTooLarge, "Request entity too large")
            }
        } else {
            body = nil
        }
        let authority = request.head.authority ?? fallbackAuthority
        let exchange = Exchange(
            request: request,
            body: body,
            peer: context.remoteAddress,
            publicBase: scheme + "://" + authority + relativePath
        )

        if isControl {
            return emulator.controls(path: path, exchange)
        }

        let route = Route(path: path)
        emulator.counters.arrived(route: route.name)
        let clientHint = route.endpoint == .token ? Self.clientHint(exchange) : nil
        let decision = emulator.faults.decide(
            route: route.name,
            realm: route.realm,
            clientId: clientHint,
            method: request.method.rawValue
        )
        if decision.delayMilliseconds > 0 {
            try await Task.sleep(for: .milliseconds(decision.delayMilliseconds))
        }

        var outcome: Outcome
        switch decision.action {
        case .status(let code):
            outcome = Outcome(
                response: Replies.oauthError(HTTPResponse.Status(code: code), "server_error", "injected fault"),
                clientId: clientHint
            )
        case .rateLimit(let retryAfter):
            outcome = Outcome(
                response: Replies.error(.tooManyRequests, "too_many_requests", headers: [Replies.retryAfter: String(retryAfter)]),
                clientId: clientHint
            )
        case .html(let code):
            outcome = Outcome(response: Replies.html(HTTPResponse.Status(code: code)), clientId: clientHint)
        case .reset:
            emulator.counters.record(route: route.name, method: request.method.rawValue, realm: route.realm, status: "reset", clientId: clientHint)
            return Response(status: .ok, headers: [Replies.resetMarker: "1"])
        case .truncatedJSON, .missingExpiresIn, .expiresIn, .oversized, .slowBody, .shortBody, .latency, nil:
            outcome = try await dispatch(route, exchange)
            if let action = decision.action {
                outcome.response = await Self.transform(outcome.response, action)
            }
        }
        emulator.counters.record(
            route: route.name,
            method: request.method.rawValue,
            realm: route.realm,
            status: String(outcome.response.status.code),
            clientId: outcome.clientId ?? clientHint
        )
        return outcome.response
    }

    private func dispatch(_ route: Route, _ exchange: Exchange) async throws -> Outcome {
        switch route.endpoint {
        case .token: return try await emulator.token(realm: route.realm!, exchange)
        case .certs: return emulator.certs(realm: route.realm!)
        case .discovery: return emulator.discovery(realm: route.realm!, exchange)
        case .realmInfo: return emulator.realmInfo(realm: route.realm!, exchange)
        case .notFound: return Outcome(response: Replies.error(.notFound, "HTTP 404 Not Found"))
        default: return emulator.admin(route: route, exchange)
        }
    }

    /// The client a token request names, for fault filters and counters of refused requests.
    private static func clientHint(_ exchange: Exchange) -> String? {
        if let clientId = FormParameters(body: exchange.bodyText)["client_id"] { return clientId }
        if let header = exchange.headers[.authorization], case .credentials(let clientId, _) = BasicCredentials.parse(header) {
            return clientId
        }
        return nil
    }

    /// Damages a real response the way a broken IdP or proxy would.
    private static func transform(_ response: Response, _ action: Fault.Kind) async -> Response {
        var response = response
        let collector = BodyCollector()
        try? await response.body.write(collector)
        var bytes = Array(collector.buffer.readableBytesView)
        switch action {
        case .truncatedJSON:
            bytes = Array(bytes.prefix(max(1, bytes.count / 2)))
        case .missingExpiresIn:
            if var object = (try? JSONParser.parse(bytes))?.objectValue {
                object["expires_in"] = nil
                bytes = Array(JSONValue.object(object).serialized.utf8)
            }
        case .expiresIn(let seconds):
            if var object = (try? JSONParser.parse(bytes))?.objectValue {
                object["expires_in"] = .double(seconds)
                bytes = Array(JSONValue.object(object).serialized.utf8)
            }
        case .oversized(let size):
            if var object = (try? JSONParser.parse(bytes))?.objectValue {
                object["padding"] = .string(String(repeating: "x", count: max(0, size - bytes.count)))
                bytes = Array(JSONValue.object(object).serialized.utf8)
            } else {
                bytes += Array(repeating: UInt8(ascii: " "), count: max(0, size - bytes.count))
            }
        case .slowBody(let interval):
            // The head goes out at once; then one byte per interval until the client hangs up
            // (the write fails) or the body is sent.
            response.body = ResponseBody(contentLength: bytes.count) { [bytes] writer in
                for byte in bytes {
                    try await Task.sleep(for: .milliseconds(interval))
                    try await writer.write(ByteBuffer(bytes: [byte]))
                }
                try await writer.finish(nil)
            }
            response.headers[.contentLength] = String(bytes.count)
            return response
        case .shortBody(let sent, let hold):
            // Content-Length promises the whole answer; the rest never comes. Throwing at the
            // end makes Hummingbird close the connection instead of ending a short body. The
            // handler cannot tell that the client hung up (an empty write does not fail, and the
            // channel is not read meanwhile), so it holds the whole `hold`, and a graceful
            // shutdown (SIGTERM) waits for it: keep `hold_ms` as short as the test allows.
            let announced = max(bytes.count, sent + 1)
            response.body = ResponseBody(contentLength: announced) { [bytes] writer in
                try await writer.write(ByteBuffer(bytes: bytes.prefix(sent)))
                try await Task.sleep(for: .milliseconds(hold))
                throw CancellationError()
            }
            response.headers[.contentLength] = String(announced)
            return response
        default:
            break
        }
        response.headers[.contentLength] = String(bytes.count)
        response.body = ResponseBody(byteBuffer: ByteBuffer(bytes: bytes))
        return response
    }
}

/// Collects a response body so a fault can rewrite it.
private final class BodyCollector: ResponseBodyWriter {
    var buffer = ByteBuffer()

    func write(_ buffer: ByteBuffer) async throws {
        var copy = buffer
        self.buffer.writeBuffer(&copy)
    }

    func finish(_ trailingHeaders: HTTPFields?) async throws {}
}
