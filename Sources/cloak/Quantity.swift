import ArgumentParser

/// A number of seconds (or requests) typed on the command line. A `Double` option's default
/// shows in its help as `30.0`, which nobody types; this one's shows as `30`.
struct Quantity: ExpressibleByArgument, ExpressibleByIntegerLiteral, Sendable {
    var value: Double

    init(integerLiteral value: Int) { self.value = Double(value) }

    init?(argument: String) {
        guard let value = Double(argument) else { return nil }
        self.value = value
    }

    var defaultValueDescription: String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }
}
