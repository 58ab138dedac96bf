/// A fault definition the controls API cannot accept.
struct FaultDefinitionError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
