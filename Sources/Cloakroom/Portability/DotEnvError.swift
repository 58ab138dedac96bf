/// A `.env` file that cannot be used, with the file and line. Never holds a value from it.
public struct DotEnvError: Error, Sendable, CustomStringConvertible {
    public let file: String
    /// The line the problem is on (1-based), when there is one.
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}
