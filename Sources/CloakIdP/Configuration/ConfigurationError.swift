/// A configuration file or flag that cannot be used; the message says which setting and why,
/// and never repeats a secret.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable {
    /// What is wrong and what to do instead.
    public let message: String

    /// An error with the given message.
    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
