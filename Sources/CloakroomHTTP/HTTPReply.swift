/// One whole answer to an HTTP request: status, headers and every byte of the body.
package struct HTTPReply: Sendable {
    package var status: Int
    package var headers: [HTTPHeader]
    package var body: [UInt8]

    package init(status: Int, headers: [HTTPHeader] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first value of header `name` (compared without regard to ASCII case), if any.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// How long the server asked to be left alone (`Retry-After`), when it said so in seconds.
    package var retryAfter: Duration? {
        header("Retry-After").flatMap(Self.retryAfter)
    }

    /// The longest `Retry-After` honoured: a server asking for more gets a call that gives up
    /// (at its deadline) rather than one that waits a day.
    package static let longestRetryAfter = 3600

    /// `Retry-After` in seconds, capped at `longestRetryAfter` (HTTP-dates are rare from identity
    /// providers and treated as absent).
    package static func retryAfter(_ value: String) -> Duration? {
        Int(value.trimmingBlanks).map { .seconds(max(0, min($0, longestRetryAfter))) }
    }
}

extension String {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    var trimmingBlanks: Substring {
        let scalars = unicodeScalars
        let start = scalars.firstIndex { $0 != " " && $0 != "\t" } ?? scalars.endIndex
        let end = scalars.lastIndex { $0 != " " && $0 != "\t" }.map { scalars.index(after: $0) } ?? start
        return self[start..<max(start, end)]
    }
}
