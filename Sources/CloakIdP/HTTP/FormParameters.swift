/// The fields of an `application/x-www-form-urlencoded` body, in order and with repeats, because
/// Keycloak refuses a repeated parameter only after client authentication.
struct FormParameters: Sendable {
    private(set) var pairs: [(name: String, value: String)] = []

    init(pairs: [(name: String, value: String)]) { self.pairs = pairs }

    /// Splits and decodes a body. A malformed `%` escape keeps its raw text instead of failing the
    /// request, because the effect in Keycloak is not documented (UNCONFIRMED).
    init(body: some StringProtocol) {
        for field in body.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = field.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = (try? FormDecoding.decode(parts[0])) ?? String(parts[0])
            let rawValue = parts.count > 1 ? parts[1] : ""
            let value = (try? FormDecoding.decode(rawValue)) ?? String(rawValue)
            pairs.append((name: name, value: value))
        }
    }

    /// The first value of `name`, as JAX-RS `getFirst` returns it.
    subscript(name: String) -> String? {
        pairs.first(where: { $0.name == name })?.value
    }

    func contains(_ name: String) -> Bool {
        pairs.contains(where: { $0.name == name })
    }

    /// Whether any parameter occurs more than once.
    var hasDuplicates: Bool {
        var seen = Set<String>()
        return pairs.contains { !seen.insert($0.name).inserted }
    }
}
