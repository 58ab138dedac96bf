import Synchronization

/// The active faults, consulted once per request.
final class FaultInjector: Sendable {
    private struct State {
        var faults: [Fault] = []
        var nextId = 1
    }

    private let state = Mutex(State())

    /// What to do to one request: a delay first, then at most one replacement or transformation.
    struct Decision: Sendable {
        var delayMilliseconds = 0
        var action: Fault.Kind?
        var isEmpty: Bool { delayMilliseconds == 0 && action == nil }
    }

    func add(_ json: JSONValue) throws(FaultDefinitionError) -> Fault {
        try state.withLock { (state) throws(FaultDefinitionError) -> Fault in
            let fault = try Fault(json: json, id: state.nextId)
            state.nextId += 1
            state.faults.append(fault)
            return fault
        }
    }

    func remove(id: Int) -> Bool {
        state.withLock { state in
            let before = state.faults.count
            state.faults.removeAll { $0.id == id }
            return state.faults.count != before
        }
    }

    func removeAll() {
        state.withLock { $0.faults.removeAll() }
    }

    var list: JSONValue {
        .array(state.withLock { $0.faults }.map(\.json))
    }

    /// Consumes the faults that fire for this request. Latencies add up; the first other
    /// fault that fires wins, and later ones are not consumed.
    func decide(route: String, realm: String?, clientId: String?, method: String) -> Decision {
        state.withLock { state in
            var decision = Decision()
            guard !state.faults.isEmpty else { return decision }
            var index = 0
            while index < state.faults.count {
                var fault = state.faults[index]
                let isLatency: Bool
                if case .latency = fault.kind { isLatency = true } else { isLatency = false }
                guard fault.matches(route: route, realm: realm, clientId: clientId, method: method),
                    isLatency || decision.action == nil,
                    fault.probability.map({ Double.random(in: 0..<1) < $0 }) ?? true
                else {
                    index += 1
                    continue
                }
                if case .latency(let milliseconds) = fault.kind {
                    decision.delayMilliseconds += milliseconds
                } else {
                    decision.action = fault.kind
                }
                fault.triggered += 1
                if let remaining = fault.remaining {
                    fault.remaining = remaining - 1
                }
                if fault.remaining == 0 {
                    state.faults.remove(at: index)
                } else {
                    state.faults[index] = fault
                    index += 1
                }
            }
            return decision
        }
    }
}
