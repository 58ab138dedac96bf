/// One injected failure: what happens to a matching request, and which requests match.
struct Fault: Sendable {
    enum Kind: Sendable, Equatable {
        /// Answer with this status and a JSON error body instead of handling the request.
        case status(Int)
        /// 429 with `Retry-After` seconds.
        case rateLimit(retryAfter: Int)
        /// Wait, then handle the request normally.
        case latency(milliseconds: Int)
        /// Close the connection with a TCP RST instead of answering.
        case reset
        /// Handle the request, then send only the first half of the body.
        case truncatedJSON
        /// An HTML error page, as a proxy in front of Keycloak would send.
        case html(status: Int)
        /// Handle the request, then drop `expires_in` from the body.
        case missingExpiresIn
        /// Handle the request, then set `expires_in` to this (a fraction, zero or negative:
        /// what a misconfigured or clock-skewed IdP sends).
        case expiresIn(Double)
        /// Handle the request, then pad the JSON body to about this many bytes.
        case oversized(bytes: Int)
        /// Handle the request, send the head at once, then the body one byte per interval: a
        /// client whose deadline covers only the head waits for the whole drip.
        case slowBody(intervalMilliseconds: Int)
        /// Handle the request, announce its full `Content-Length`, send only the first `sent`
        /// bytes and hold the connection open for `holdMilliseconds` (then close it).
        case shortBody(sent: Int, holdMilliseconds: Int)

        var name: String {
            switch self {
            case .status: "status"
            case .rateLimit: "rate-limit"
            case .latency: "latency"
            case .reset: "reset"
            case .truncatedJSON: "truncated-json"
            case .html: "html"
            case .missingExpiresIn: "missing-expires-in"
            case .oversized: "oversized"
            case .expiresIn: "expires-in"
            case .slowBody: "slow-body"
            case .shortBody: "short-body"
            }
        }
    }

    var id: Int
    var kind: Kind
    /// Route name (`token`, `certs`, `discovery`, `realm`, `admin` or an `admin.…` name); `nil` matches all.
    var route: String?
    var realm: String?
    /// Matches token requests that name this client (form or Basic header).
    var clientId: String?
    var method: String?
    /// Matching requests still to fail; `nil` means until removed.
    var remaining: Int?
    /// Chance that a matching request fails; `nil` means always.
    var probability: Double?
    var triggered = 0

    func matches(route candidate: String, realm candidateRealm: String?, clientId candidateClient: String?, method candidateMethod: String) -> Bool {
        if let route, route != candidate, !(candidate.hasPrefix(route + ".")) { return false }
        if let realm, realm != candidateRealm { return false }
        if let clientId, clientId != candidateClient { return false }
        if let method, method.uppercased() != candidateMethod { return false }
        return true
    }

    var json: JSONValue {
        var object: JSONObject = ["id": .int(id), "fault": .string(kind.name)]
        switch kind {
        case .status(let status), .html(let status): object["status"] = .int(status)
        case .rateLimit(let retryAfter): object["retry_after"] = .int(retryAfter)
        case .latency(let milliseconds): object["delay_ms"] = .int(milliseconds)
        case .oversized(let bytes): object["bytes"] = .int(bytes)
        case .expiresIn(let seconds): object["seconds"] = .double(seconds)
        case .slowBody(let interval): object["interval_ms"] = .int(interval)
        case .shortBody(let sent, let hold):
            object["sent"] = .int(sent)
            object["hold_ms"] = .int(hold)
        case .reset, .truncatedJSON, .missingExpiresIn: break
        }
        if let route { object["route"] = .string(route) }
        if let realm { object["realm"] = .string(realm) }
        if let clientId { object["client_id"] = .string(clientId) }
        if let method { object["method"] = .string(method) }
        if let remaining { object["remaining"] = .int(remaining) }
        if let probability { object["probability"] = .double(probability) }
        object["triggered"] = .int(triggered)
        return .object(object)
    }
}

extension Fault {
    /// Reads a fault from the controls API body; the error text is returned to the caller as is.
    init(json: JSONValue, id: Int) throws(FaultDefinitionError) {
        guard let object = json.objectValue, let name = object["fault"]?.stringValue else {
            throw FaultDefinitionError("body must be a JSON object with a \"fault\" name")
        }
        func int(_ key: String, default value: Int) throws(FaultDefinitionError) -> Int {
            guard let member = object[key], member != .null else { return value }
            guard let int = member.intValue else { throw FaultDefinitionError("\(key) must be an integer") }
            return int
        }
        switch name {
        case "status":
            let status = try int("status", default: 503)
            guard (400...599).contains(status) else { throw FaultDefinitionError("status must be 400…599") }
            kind = .status(status)
        case "rate-limit": kind = .rateLimit(retryAfter: try int("retry_after", default: 1))
        case "latency": kind = .latency(milliseconds: max(0, try int("delay_ms", default: 500)))
        case "reset": kind = .reset
        case "truncated-json": kind = .truncatedJSON
        case "html":
            let status = try int("status", default: 502)
            guard (200...599).contains(status) else { throw FaultDefinitionError("status must be 200…599") }
            kind = .html(status: status)
        case "missing-expires-in": kind = .missingExpiresIn
        case "oversized": kind = .oversized(bytes: min(max(0, try int("bytes", default: 4 << 20)), 256 << 20))
        case "expires-in":
            guard let seconds = object["seconds"]?.doubleValue else { throw FaultDefinitionError("seconds must be a number") }
            kind = .expiresIn(seconds)
        // Both hold a connection: bounded, so an IdP left running by a test stops dripping by itself.
        case "slow-body": kind = .slowBody(intervalMilliseconds: min(max(1, try int("interval_ms", default: 1000)), 60_000))
        case "short-body":
            kind = .shortBody(sent: max(0, try int("sent", default: 10)), holdMilliseconds: min(max(0, try int("hold_ms", default: 60_000)), 600_000))
        default:
            throw FaultDefinitionError(
                "unknown fault '\(name)'; use status, rate-limit, latency, reset, truncated-json, html, missing-expires-in, expires-in, oversized, slow-body or short-body"
            )
        }
        self.id = id
        route = object["route"]?.stringValue
        realm = object["realm"]?.stringValue
        clientId = object["client_id"]?.stringValue
        method = object["method"]?.stringValue
        if let count = object["count"], count != .null {
            guard let value = count.intValue, value > 0 else { throw FaultDefinitionError("count must be a positive integer") }
            remaining = value
        }
        if let chance = object["probability"], chance != .null {
            guard let value = chance.doubleValue, (0...1).contains(value) else {
                throw FaultDefinitionError("probability must be a number between 0 and 1")
            }
            probability = value
        }
    }
}
