import HTTPTypes
import Hummingbird

extension Emulator {
    /// The path prefix of the test controls; Keycloak has no route under it.
    static let controlsPrefix = "/_cloak-idp"

    /// The test controls: counters, clock and faults. Never counted and never faulted.
    func controls(path: String, _ exchange: Exchange) -> Response {
        let segments = path.dropFirst(Emulator.controlsPrefix.count).split(separator: "/").map(String.init)
        let method = exchange.method
        func body() -> JSONValue? {
            let text = exchange.bodyText
            return text.isEmpty ? .object(JSONObject()) : try? JSONParser.parse(text.utf8)
        }
        func badRequest(_ message: String) -> Response {
            Replies.json(.badRequest, ["error": "invalid_request", "error_description": .string(message)] as JSONValue)
        }
        switch (segments.first, segments.count, method) {
        case ("health", 1, .get):
            return Replies.json(.ok, ["status": "ok"] as JSONValue)

        case ("stats", 1, .get):
            return Replies.json(.ok, counters.snapshot)
        case ("stats", 1, .delete), ("stats", 2, .post) where segments.last == "reset":
            counters.reset()
            return Replies.noContent()

        case ("clock", 1, .get):
            return Replies.json(.ok, clockJSON)
        case ("clock", 1, .post), ("clock", 1, .put):
            guard let request = body()?.objectValue else { return badRequest("body must be a JSON object") }
            if let offset = request["offset_seconds"]?.doubleValue {
                clock.offsetSeconds = offset
            } else if let seconds = request["advance_seconds"]?.doubleValue {
                clock.advance(by: seconds)
            } else {
                return badRequest("give offset_seconds or advance_seconds")
            }
            return Replies.json(.ok, clockJSON)
        case ("clock", 1, .delete):
            clock.offsetSeconds = 0
            return Replies.json(.ok, clockJSON)

        case ("faults", 1, .get):
            return Replies.json(.ok, faults.list)
        case ("faults", 1, .post):
            guard let request = body() else { return badRequest("body is not JSON") }
            do {
                return Replies.json(.created, try faults.add(request).json)
            } catch {
                return badRequest(error.message)
            }
        case ("faults", 1, .delete):
            faults.removeAll()
            return Replies.noContent()
        case ("faults", 2, .delete):
            guard let id = Int(segments[1]), faults.remove(id: id) else {
                return Replies.json(.notFound, ["error": "no such fault"] as JSONValue)
            }
            return Replies.noContent()

        default:
            return Replies.json(.notFound, ["error": "unknown control"] as JSONValue)
        }
    }

    private var clockJSON: JSONValue {
        ["now": .int(clock.nowSeconds), "offset_seconds": .double(clock.offsetSeconds)]
    }
}
