extension StringProtocol {
    /// The text with its control characters (C0, DEL, C1) written as `\u{1B}`: for messages that
    /// quote what someone typed or a server sent, which must not move the cursor, clear the
    /// screen or forge a line on the terminal they are shown on.
    package var escapingControlCharacters: String { escapingControlCharacters(keepingLines: false) }

    /// The same, but with `keepingLines` newlines and tabs stay as they are: a message's own layout.
    package func escapingControlCharacters(keepingLines: Bool) -> String {
        var out = ""
        for scalar in unicodeScalars {
            let isControl = scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value)
            if isControl, !(keepingLines && (scalar == "\n" || scalar == "\t")) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
