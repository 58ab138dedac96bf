import Synchronization

/// Counts the requests the emulator answered, by route, realm, status and client_id, so a test
/// can assert "exactly one token request reached the IdP"; and, by route, the requests that
/// arrived, before any injected latency: a test can act while one is held.
final class RequestCounters: Sendable {
    struct Key: Hashable, Sendable, Comparable {
        var route: String
        var method: String
        var realm: String
        var status: String
        var clientId: String

        static func < (lhs: Key, rhs: Key) -> Bool {
            (lhs.route, lhs.method, lhs.realm, lhs.status, lhs.clientId) < (rhs.route, rhs.method, rhs.realm, rhs.status, rhs.clientId)
        }
    }

    private let counts = Mutex<[Key: Int]>([:])
    private let arrivals = Mutex<[String: Int]>([:])

    /// Records one request as it arrives, before faults delay or answer it.
    func arrived(route: String) {
        arrivals.withLock { $0[route, default: 0] += 1 }
    }

    /// Records one answered request; `status` is the HTTP status or `reset` for a dropped connection.
    func record(route: String, method: String, realm: String?, status: String, clientId: String?) {
        let key = Key(route: route, method: method, realm: realm ?? "", status: status, clientId: clientId ?? "")
        counts.withLock { $0[key, default: 0] += 1 }
    }

    func reset() {
        counts.withLock { $0.removeAll() }
        arrivals.withLock { $0.removeAll() }
    }

    /// Totals and every (route, realm, status, client_id) cell, sorted for stable output.
    var snapshot: JSONValue {
        let cells = counts.withLock { $0 }.sorted { $0.key < $1.key }
        var byRoute: [String: Int] = [:]
        var byStatus: [String: Int] = [:]
        var byClient: [String: Int] = [:]
        var total = 0
        var entries: [JSONValue] = []
        for (key, count) in cells {
            total += count
            byRoute[key.route, default: 0] += count
            byStatus[key.status, default: 0] += count
            if !key.clientId.isEmpty { byClient[key.clientId, default: 0] += count }
            var entry: JSONObject = ["route": .string(key.route), "method": .string(key.method)]
            if !key.realm.isEmpty { entry["realm"] = .string(key.realm) }
            entry["status"] = .string(key.status)
            if !key.clientId.isEmpty { entry["client_id"] = .string(key.clientId) }
            entry["count"] = .int(count)
            entries.append(.object(entry))
        }
        func sortedObject(_ dictionary: [String: Int]) -> JSONValue {
            .object(JSONObject(dictionary.sorted { $0.key < $1.key }.map { (key: $0.key, value: .int($0.value)) }))
        }
        return [
            "total": .int(total),
            "by_route": sortedObject(byRoute),
            "by_status": sortedObject(byStatus),
            "by_client": sortedObject(byClient),
            "arrived_by_route": sortedObject(arrivals.withLock { $0 }),
            "entries": .array(entries),
        ]
    }
}
