import ArgumentParser

/// `--yes`, for the commands that destroy something: asked on a terminal, said by the flag
/// elsewhere — a script never hangs on a question, and never destroys by default.
struct ConfirmationOptions: ParsableArguments {
    @Flag(name: [.customShort("y"), .long], help: "Do it without asking; required when stdin is not a terminal.")
    var yes = false

    /// Asks whether to `action` ("remove client prod/orders …") on a terminal; `y` or `yes` goes on.
    /// - Throws: `UsageError` (exit 2, nothing changed) when declined, or when there is no
    ///   terminal to ask and `--yes` was not given.
    func confirm(_ action: String) throws {
        if yes { return }
        guard Terminal.isInteractive else {
            throw UsageError("to \(action) without a terminal to ask, add --yes; nothing was changed.")
        }
        Terminal.write(2, action.prefix(1).uppercased() + action.dropFirst() + "? [y/N] ")
        guard ["y", "yes"].contains(Terminal.readLine().lowercased().filter { !$0.isWhitespace }) else {
            throw UsageError("nothing was changed.")
        }
    }
}
