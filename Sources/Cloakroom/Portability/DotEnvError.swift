/// A `.env` file that cannot be used, with the file and line. Never holds a value from it.
public struct DotEnvError: CloakroomError {
    /// The file's name, as given.
    public let file: String
    /// The line the problem is on (1-based), when there is one.
    public let line: Int?
    /// What is wrong; names at most a variable, never a value.
    public let message: String
    /// What would help, in order.
    public let next: [NextStep]

    /// An error about `file`, at `line` when the problem has one.
    public init(file: String, line: Int?, message: String, next: [NextStep] = []) {
        self.file = file
        self.line = line
        self.message = message
        self.next = next
    }

    /// A `.env` file that cannot be used is input that is not acceptable.
    public var code: ErrorCode { .invalidInput }

    /// `FILE:LINE: message`, or `FILE: message` without a line.
    public var description: String { line.map { "\(file):\($0): \(message)" } ?? "\(file): \(message)" }
}
