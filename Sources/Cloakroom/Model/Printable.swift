extension Unicode.Scalar {
    /// C0 (U+0000–U+001F), DEL or C1 (U+0080–U+009F): what no text cloak shows, stores as one
    /// line or sends may carry raw. C1 counts as much as C0: U+009B is CSI to some terminals.
    /// The one definition; four places that spelled it out each forgot C1 once (found by fuzzing).
    package var isControlCharacter: Bool { value < 0x20 || (0x7F...0x9F).contains(value) }
}

extension StringProtocol {
    /// Whether any of its scalars `isControlCharacter`.
    ///
    /// Read from the UTF-8 bytes (always valid in a String): C0 and DEL are single bytes, and C1
    /// is U+0080–U+009F, encoded as 0xC2 then 0x80–0x9F. Decoding every scalar instead cost each
    /// audit event a walk of its command line (perf, a bulk rotation).
    package var containsControlCharacters: Bool {
        var afterC2 = false
        for byte in utf8 {
            if byte < 0x20 || byte == 0x7F || (afterC2 && byte <= 0x9F) { return true }
            afterC2 = byte == 0xC2
        }
        return false
    }

    /// The text with its control characters (C0, DEL, C1) written as `\u{1B}`: for messages that
    /// quote what someone typed or a server sent, which must not move the cursor, clear the
    /// screen or forge a line on the terminal they are shown on.
    package var escapingControlCharacters: String { escapingControlCharacters(keepingLines: false) }

    /// The same, but with `keepingLines` newlines and tabs stay as they are: a message's own layout.
    package func escapingControlCharacters(keepingLines: Bool) -> String {
        var out = ""
        for scalar in unicodeScalars {
            if scalar.isControlCharacter, !(keepingLines && (scalar == "\n" || scalar == "\t")) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
