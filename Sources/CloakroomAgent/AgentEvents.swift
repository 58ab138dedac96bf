public import Cloakroom
import Synchronization
#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// What the agent tells `GET /v1/events` subscribers (server-sent events): tokens fetched from
/// the IdP, rotations started, finished and failed. Never a secret or a token.
public struct AgentEvent: Sendable {
    /// What happened.
    public enum Kind: String, Sendable {
        /// A token was fetched from the identity provider (for a consumer or a renewal).
        case tokenFetched = "token.fetched"
        /// A scheduled rotation began.
        case rotationStarted = "rotation.started"
        /// A rotation ended with a new secret current (or an interrupted one settled).
        case rotationFinished = "rotation.finished"
        /// A rotation failed; `code` says why.
        case rotationFailed = "rotation.failed"
        /// A scheduled rotation was left to another process (an agent on another host of a team
        /// vault): it was rotating the client, or had just rotated it.
        case rotationSkipped = "rotation.skipped"
    }

    /// What happened.
    public var kind: Kind
    /// The client it concerns.
    public var client: ClientRef
    /// When.
    public var time = Date()
    /// The secret version now current, for a finished rotation.
    public var secretVersion: Int?
    /// The `ErrorCode` of a failure.
    public var code: String?

    /// An event of `kind` about `client`.
    public init(_ kind: Kind, _ client: ClientRef, secretVersion: Int? = nil, code: String? = nil) {
        (self.kind, self.client, self.secretVersion, self.code) = (kind, client, secretVersion, code)
    }

    /// The event as one server-sent event: `event:` and a JSON `data:` line.
    var serverSentEvent: [UInt8] {
        var data: [(String, JSON)] = [
            ("time", .string(time.iso8601)), ("realm", .string(client.realm.rawValue)), ("client", .string(client.name.rawValue)),
        ]
        if let secretVersion { data.append(("secret_version", .number(Int64(secretVersion)))) }
        if let code { data.append(("code", .string(code))) }
        // One line: an SSE data line ends at a newline.
        return Array("event: \(kind.rawValue)\ndata: \(JSON.fields(data).line)\n\n".utf8)
    }
}

/// Hands each event to every subscriber. A subscriber that falls behind loses its oldest events
/// (a buffer of 256), never slows the agent.
final class EventHub: Sendable {
    private let subscribers = Mutex<[Int: AsyncStream<AgentEvent>.Continuation]>([:])
    private let nextID = Atomic<Int>(0)

    func publish(_ event: AgentEvent) {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.yield(event) }
    }

    /// A stream of the events from now on; it ends when the subscriber stops reading it.
    func subscribe() -> AsyncStream<AgentEvent> {
        let id = nextID.add(1, ordering: .relaxed).newValue
        let (stream, continuation) = AsyncStream<AgentEvent>.makeStream(bufferingPolicy: .bufferingNewest(256))
        continuation.onTermination = { [weak self] _ in _ = self?.subscribers.withLock { $0.removeValue(forKey: id) } }
        subscribers.withLock { $0[id] = continuation }
        return stream
    }

    /// Ends every subscription (the agent stopping).
    func finish() {
        for subscriber in subscribers.withLock({ Array($0.values) }) { subscriber.finish() }
    }

    var count: Int { subscribers.withLock { $0.count } }
}
