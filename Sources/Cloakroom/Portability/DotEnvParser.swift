import CloakroomCrypto

/// The grammar in `DotEnv`'s documentation, over normalized bytes (only `\n` ends a line).
struct DotEnvParser {
    let bytes: UnsafeRawBufferPointer
    let file: String
    var position = 0
    var line = 1
    var entries: [DotEnv.Entry] = []
    var notes: [DotEnv.Note] = []
    var lastLine: [String: Int] = [:]

    init(bytes: UnsafeRawBufferPointer, file: String) {
        self.bytes = bytes
        self.file = file
    }

    static let newline = UInt8(ascii: "\n")

    mutating func run() throws -> DotEnv {
        while position < bytes.count {
            skipBlanks()
            guard position < bytes.count else { break }
            switch bytes[position] {
            case Self.newline:
                nextLine()
            case UInt8(ascii: "#"):
                skipToEndOfLine()
            default:
                try assignment()
            }
        }
        return DotEnv(file: file, entries: entries, notes: notes)
    }

    // MARK: One line

    private mutating func assignment() throws {
        let start = line
        var key = name()
        if key == "export" && position < bytes.count && isBlank(bytes[position]) {
            skipBlanks()
            if position < bytes.count && isNameByte(bytes[position]) { key = name() }
        }
        guard let first = key.utf8.first, !isDigit(first) else {
            // Never quote the line: it may be a secret pasted on its own.
            throw error("expected NAME=VALUE, with a NAME of letters, digits and '_' not starting with a digit")
        }
        skipBlanks()
        if position >= bytes.count || bytes[position] == Self.newline {
            notes.append(DotEnv.Note(file: file, line: start, message: "a name without '=' is ignored"))
            return
        }
        guard bytes[position] == UInt8(ascii: "=") else {
            throw error("expected '=' after the name at the start of the line (a name is letters, digits and '_')")
        }
        position += 1
        skipBlanks()
        let value: SecureBytes
        let quoting: DotEnv.Quoting
        let mentionsVariable: Bool
        switch position < bytes.count ? bytes[position] : Self.newline {
        case UInt8(ascii: "'"):
            let range = try quoted(UInt8(ascii: "'"), key: key, from: start)
            value = SecureBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[range]))
            quoting = .single
            mentionsVariable = false
        case UInt8(ascii: "\""):
            let range = try quoted(UInt8(ascii: "\""), key: key, from: start)
            let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
            value = SecureBytes(count: Self.unescape(raw, into: nil)) { _ = Self.unescape(raw, into: $0) }
            quoting = .double
            mentionsVariable = Self.mentionsVariable(raw, escapes: true)
        default:
            let range = unquoted()
            value = SecureBytes(copying: UnsafeRawBufferPointer(rebasing: bytes[range]))
            quoting = .none
            mentionsVariable = Self.mentionsVariable(UnsafeRawBufferPointer(rebasing: bytes[range]), escapes: false)
        }
        if let earlier = lastLine[key] {
            notes.append(DotEnv.Note(file: file, line: start, message: "\(key) is set again; the value on line \(earlier) is ignored"))
        }
        lastLine[key] = start
        entries.append(DotEnv.Entry(key: key, line: start, endLine: line, value: DotEnv.Value(bytes: value),
                                    quoting: quoting, mentionsVariable: mentionsVariable))
    }

    /// `[A-Za-z0-9_]*` at the current position (the first character is checked by the caller).
    private mutating func name() -> String {
        let start = position
        while position < bytes.count, isNameByte(bytes[position]) { position += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    /// The bytes between an opening `quote` at the current position and its closing one, which
    /// may be lines later; then only blanks and a comment may follow on the closing line.
    private mutating func quoted(_ quote: UInt8, key: String, from start: Int) throws -> Range<Int> {
        position += 1
        let first = position
        while position < bytes.count, bytes[position] != quote {
            if bytes[position] == Self.newline { line += 1 }
            if quote == UInt8(ascii: "\""), bytes[position] == UInt8(ascii: "\\"), position + 1 < bytes.count {
                position += 1
                if bytes[position] == Self.newline { line += 1 }
            }
            position += 1
        }
        guard position < bytes.count else {
            let mark = quote == UInt8(ascii: "'") ? "'" : "\""
            throw DotEnvError(file: file, line: start, message: "the value of \(key) opens a \(mark) quote that is never closed")
        }
        let range = first..<position
        position += 1
        skipBlanks()
        if position < bytes.count, bytes[position] == UInt8(ascii: "#") { skipToEndOfLine() }
        guard position >= bytes.count || bytes[position] == Self.newline else {
            throw error("unexpected text after the closing quote of \(key)")
        }
        return range
    }

    /// An unquoted value: to the end of the line or a comment that follows a blank, trimmed.
    private mutating func unquoted() -> Range<Int> {
        let first = position
        var end = position
        while position < bytes.count, bytes[position] != Self.newline {
            let byte = bytes[position]
            if byte == UInt8(ascii: "#") && isBlank(bytes[position - 1]) {
                skipToEndOfLine()
                break
            }
            position += 1
            if !isBlank(byte) { end = position }
        }
        return first..<end
    }

    // MARK: Values

    /// Writes the value of a double-quoted `raw` into `out` (if given); returns its length.
    static func unescape(_ raw: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer?) -> Int {
        var count = 0
        func emit(_ byte: UInt8) {
            out?[count] = byte
            count += 1
        }
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            guard byte == UInt8(ascii: "\\"), index + 1 < raw.count else {
                emit(byte)
                index += 1
                continue
            }
            switch raw[index + 1] {
            case UInt8(ascii: "n"): emit(UInt8(ascii: "\n"))
            case UInt8(ascii: "t"): emit(UInt8(ascii: "\t"))
            case UInt8(ascii: "r"): emit(UInt8(ascii: "\r"))
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"): emit(raw[index + 1])
            default:
                emit(byte)
                emit(raw[index + 1])
            }
            index += 2
        }
        return count
    }

    /// Whether `raw` has `$NAME` or `${…}` that another tool would expand (`\$` is escaped in
    /// double quotes).
    static func mentionsVariable(_ raw: UnsafeRawBufferPointer, escapes: Bool) -> Bool {
        var index = 0
        while index < raw.count {
            if escapes && raw[index] == UInt8(ascii: "\\") {
                index += 2
                continue
            }
            if raw[index] == UInt8(ascii: "$"), index + 1 < raw.count {
                let next = raw[index + 1]
                if next == UInt8(ascii: "{") || (isNameByte(next) && !isDigit(next)) { return true }
            }
            index += 1
        }
        return false
    }

    // MARK: Scanning

    private mutating func skipBlanks() {
        while position < bytes.count, isBlank(bytes[position]) { position += 1 }
    }

    private mutating func skipToEndOfLine() {
        while position < bytes.count, bytes[position] != Self.newline { position += 1 }
    }

    private mutating func nextLine() {
        position += 1
        line += 1
    }

    private func error(_ message: String) -> DotEnvError {
        DotEnvError(file: file, line: line, message: message)
    }
}

private func isBlank(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
private func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
private func isNameByte(_ byte: UInt8) -> Bool {
    isDigit(byte) || byte == UInt8(ascii: "_") || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20)
}
