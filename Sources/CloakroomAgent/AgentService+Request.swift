import Cloakroom
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

extension AgentService {
    /// A request, parsed as far as routing needs.
    package struct Request: Sendable {
        package var method: String
        /// The path, percent-decoded segment by segment: `["v1", "tokens", "prod", "orders"]`.
        package var segments: [String]
        /// The query's parameters in order; a name may repeat (`scope=a&scope=b`).
        package var query: [(String, String)]

        package init(method: String, target: String) {
            self.method = method
            // Split on bytes (ASCII delimiters), not Characters: no grapheme breaking per request.
            let bytes = target.utf8
            let mark = bytes.firstIndex(of: UInt8(ascii: "?"))
            let path = Substring(bytes[..<(mark ?? bytes.endIndex)])
            let query = mark.map { Substring(bytes[bytes.index(after: $0)...]) } ?? ""
            segments = path.utf8.split(separator: UInt8(ascii: "/")).map { Self.decode(Substring($0)) }
            self.query = query.utf8.split(separator: UInt8(ascii: "&")).map { pair in
                let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
                return (Self.decode(Substring(parts[0])), parts.count > 1 ? Self.decode(Substring(parts[1])) : "")
            }
        }

        func parameter(_ name: String) -> String? { query.last { $0.0 == name }?.1 }
        func parameters(_ name: String) -> [String] { query.filter { $0.0 == name }.map(\.1) }

        /// Percent-decoding (and `+` as a space, in query values as HTML forms send them).
        static func decode(_ text: Substring) -> String {
            // Bytes, not Characters: grapheme breaking made reading a path a tenth of a request.
            guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(text) }
            var bytes: [UInt8] = []
            var utf8 = text.utf8.makeIterator()
            while let byte = utf8.next() {
                switch byte {
                case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
                case UInt8(ascii: "%"):
                    guard let high = utf8.next(), let low = utf8.next(), let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) else {
                        return String(text)  // malformed: left as it is, and so fails validation later
                    }
                    bytes.append(value)
                default: bytes.append(byte)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// An answer: a status and a JSON document, or a stream of server-sent events.
    package struct Response: Sendable {
        package var status: Int
        package var contentType: String
        package var body: [UInt8]
        /// Events to send as they happen, after the head (`GET /v1/events`); the body is empty.
        package var events: AsyncStream<AgentEvent>?

        init(body: [UInt8]) {
            (status, contentType, self.body) = (200, "application/json", body)
        }

        init(events: AsyncStream<AgentEvent>) {
            (status, contentType, body, self.events) = (200, "text/event-stream", [], events)
        }

        init(text: String, contentType: String) {
            (status, self.contentType, body) = (200, contentType, Array(text.utf8))
        }

        init(_ document: JSON, status: Int = 200) {
            (self.status, contentType, body) = (status, "application/json", document.bytes)
        }

        init(_ problem: Problem) {
            (status, contentType, body) = (problem.status, "application/problem+json", problem.document.bytes)
        }
    }

    /// Who asks: a process on this host, as the kernel names it; or, on the TCP listener, the
    /// holder of a consumer's credential (`nil`: none was presented).
    package enum Caller: Sendable, CustomStringConvertible {
        case local(Peer)
        case remote(bearer: String?)

        package var description: String {
            switch self {
            case .local(let peer): "\(peer)"
            case .remote: "a TCP consumer"
            }
        }
    }

    /// A token request's query: `scope` (repeatable, or space-separated), `audience`, `min_ttl`, `refresh`.
    struct TokenParameters {
        var scopes: [String]
        var audience: String?
        var minimumTTL: Duration?
        var refresh: Bool

        /// - Throws: `Problem` 400 for a `min_ttl` that is not a number of seconds from 0 to a day.
        init(_ request: Request, client: ClientRef? = nil) throws {
            // As `cloak token` splits them: `scope=a b` and `scope=a&scope=b` are the same request.
            scopes = request.parameters("scope").flatMap { $0.split(separator: " ").map(String.init) }
            audience = request.parameter("audience").flatMap { $0.isEmpty ? nil : $0 }
            if let text = request.parameter("min_ttl") {
                guard let seconds = Double(text), seconds.isFinite, (0...86_400).contains(seconds) else {
                    throw Problem(status: 400, code: ErrorCode.invalidInput.rawValue, detail: "min_ttl must be a number of seconds from 0 to 86400.", client: client)
                }
                minimumTTL = .milliseconds(Int64(seconds * 1000))
            }
            refresh = request.parameter("refresh") == "true"
        }
    }
}
