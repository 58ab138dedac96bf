import CloakroomCrypto

/// A `.env` file, parsed the way docker compose, python-dotenv and a shell agree on.
///
/// ```
/// # a comment
/// export TOKEN_URL=https://sso.example.com/realms/prod/protocol/openid-connect/token
/// CLIENT_ID = orders-svc          # a comment after whitespace
/// CLIENT_SECRET='literal, may span
/// lines'
/// NOTE="escapes: \n \t \r \" \\ \$"
/// ```
///
/// - Lines end in LF, CRLF or a lone CR; a UTF-8 byte-order mark is skipped. Blank lines and lines
///   whose first non-blank character is `#` are comments.
/// - An assignment is `[export ]NAME=VALUE`, with spaces or tabs allowed around `NAME` and `=`.
///   `NAME` is a shell variable name: letters, digits and `_`, not starting with a digit.
///   A `NAME` alone (no `=`) is ignored, with a note, as compose and python-dotenv do.
/// - Unquoted values run to the end of the line, trimmed; `#` starts a comment only after a space
///   or tab, so `a#b` is a value and `a #b` is `a`. `=` and quotes inside are literal.
/// - `'single quotes'` are literal (no escapes) and may span lines.
/// - `"double quotes"` understand `\n \t \r \" \\ \$`; any other backslash is kept as it is. They
///   may span lines. After the closing quote only blanks and a comment may follow.
/// - Variables (`$NAME`, `${NAME}`) are **not** expanded. Other tools expand them in unquoted and
///   double-quoted values, so such values are flagged (`Entry.mentionsVariable`) and importers
///   refuse to use them: a value is taken only when every tool reads it the same way.
/// - A name set twice: the last value wins, and a note says so.
///
/// Values are held in secure memory and never appear in a message: errors and notes name the
/// file, the line and at most the variable's name. A file over 1 MiB or holding a NUL byte is
/// refused as not a `.env` file.
public struct DotEnv: Sendable {
    /// Larger files are refused: a `.env` file is a few kilobytes.
    public static let maximumSize = 1 << 20

    /// How a value was written.
    public enum Quoting: Sendable {
        /// `none`: unquoted; `single`: `'…'`, literal; `double`: `"…"`, with escapes.
        case none, single, double
    }

    /// One `NAME=VALUE` assignment.
    public struct Entry: Sendable {
        /// The variable's name, as written (case kept).
        public let key: String
        /// The line it starts on (1-based) and the line it ends on (later for a multi-line value).
        public let line: Int
        /// The line the value ends on (the same as `line` for a one-line value).
        public let endLine: Int
        /// The value, unquoted and unescaped.
        public let value: Value
        /// How the value was written.
        public let quoting: Quoting
        /// The value has an unescaped `$NAME` or `${NAME}` outside single quotes: compose,
        /// python-dotenv and a shell would replace it, cloak keeps it as written.
        public let mentionsVariable: Bool

        /// `12` or `12-14`.
        public var lines: String { endLine == line ? "\(line)" : "\(line)-\(endLine)" }
    }

    /// A value, held in secure memory. It prints as `<redacted>`: what it holds may be a secret.
    public struct Value: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
        let bytes: SecureBytes

        /// The value's length in bytes.
        public var count: Int { bytes.count }
        /// Whether the value is empty (`NAME=`).
        public var isEmpty: Bool { bytes.count == 0 }

        /// The value as text, for values that are not secret (URLs, client_ids); `nil` when it is
        /// not UTF-8.
        public var text: String? {
            bytes.withUnsafeBytes { String(validating: $0.bindMemory(to: UInt8.self), as: UTF8.self) }
        }

        /// The value as a client secret, never passing through a `String`.
        /// - Throws: `VaultError.invalidInput` when it is not an acceptable secret (empty, too long, control characters).
        public func secret() throws -> ClientSecret { try ClientSecret(validating: bytes) }

        /// Always `<redacted>`.
        public var description: String { "<redacted>" }
        /// Always `<redacted>`.
        public var debugDescription: String { "<redacted>" }
        /// A mirror with no children, so that `dump` and debuggers show nothing of the value.
        public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
    }

    /// Something worth telling the user that does not stop the file from being read.
    public struct Note: Sendable, CustomStringConvertible {
        /// The file's name, as given.
        public let file: String
        /// The line it concerns (1-based).
        public let line: Int
        /// What was noticed; names at most a variable, never a value.
        public let message: String
        /// `FILE:LINE: message`.
        public var description: String { "\(file):\(line): \(message)" }
    }

    /// The file's name, as given (for messages).
    public let file: String
    /// Every assignment, in file order, repeated names included.
    public let entries: [Entry]
    /// What did not stop the file from being read: a name without `=`, a name set twice.
    public let notes: [Note]

    /// The assignment of `key` that counts: the last one.
    public func entry(_ key: String) -> Entry? { entries.last { $0.key == key } }

    /// The earlier assignments of `entry`'s name, which it overrides.
    public func overridden(by entry: Entry) -> [Entry] {
        entries.filter { $0.key == entry.key && $0.line < entry.line }
    }

    /// Reads and parses the file at `path` straight into secure memory.
    /// - Throws: `VaultError` (`.notFound`, `.permissions`, `.io`) when it cannot be read;
    ///   `DotEnvError` when it is too large or does not parse.
    public static func load(from path: String) throws -> DotEnv {
        // The error says why it cannot be read: missing, unreadable (EACCES), a symlink loop, a FIFO.
        let (fd, status) = try FileSystem.openRegularFile(path, what: path)
        defer { FileSystem.closeFile(fd) }
        guard status.size <= maximumSize else {
            throw DotEnvError(file: path, line: nil, message: "the file is larger than \(maximumSize / 1024) KiB; is it a .env file?")
        }
        var length = 0
        let buffer = try SecureBytes(count: maximumSize + 1) { length = try FileSystem.readUpTo(fd, into: $0, what: path) }
        guard length <= maximumSize else {
            throw DotEnvError(file: path, line: nil, message: "the file is larger than \(maximumSize / 1024) KiB; is it a .env file?")
        }
        return try buffer.withUnsafeBytes { try parse(UnsafeRawBufferPointer(rebasing: $0[..<length]), file: path) }
    }

    /// Parses `bytes`, the contents of a `.env` file named `file` (for messages). The values are
    /// copied into secure memory; the caller remains responsible for its own copy.
    /// - Throws: `DotEnvError` naming the line.
    public static func parse(_ bytes: [UInt8], file: String) throws -> DotEnv {
        guard bytes.count <= maximumSize else {
            throw DotEnvError(file: file, line: nil, message: "the file is larger than \(maximumSize / 1024) KiB; is it a .env file?")
        }
        return try bytes.withUnsafeBytes { try parse($0, file: file) }
    }

    static func parse(_ raw: UnsafeRawBufferPointer, file: String) throws -> DotEnv {
        let text = try normalized(raw, file: file)
        return try text.withUnsafeBytes { bytes in
            var parser = DotEnvParser(bytes: bytes, file: file)
            return try parser.run()
        }
    }

    /// The bytes without a byte-order mark and with every line ending made `\n`, so a line
    /// number and a multi-line value mean the same whatever the file's origin.
    private static func normalized(_ raw: UnsafeRawBufferPointer, file: String) throws -> SecureBytes {
        let bom: [UInt8] = [0xEF, 0xBB, 0xBF]
        let start = raw.count >= 3 && raw[0] == bom[0] && raw[1] == bom[1] && raw[2] == bom[2] ? 3 : 0
        var count = 0
        var line = 1
        var index = start
        while index < raw.count {
            switch raw[index] {
            case 0:
                throw DotEnvError(file: file, line: line, message: "the file contains a NUL byte; is it a .env file?")
            case UInt8(ascii: "\r"):
                if index + 1 < raw.count && raw[index + 1] == UInt8(ascii: "\n") { index += 1 }
                line += 1
            case UInt8(ascii: "\n"):
                line += 1
            default:
                break
            }
            count += 1
            index += 1
        }
        return SecureBytes(count: count) { out in
            var index = start
            var position = 0
            while index < raw.count {
                var byte = raw[index]
                if byte == UInt8(ascii: "\r") {
                    if index + 1 < raw.count && raw[index + 1] == UInt8(ascii: "\n") { index += 1 }
                    byte = UInt8(ascii: "\n")
                }
                out[position] = byte
                position += 1
                index += 1
            }
        }
    }
}

extension DotEnv {
    /// The `.env` files directly in `directory`, for a batch import, sorted by name: regular
    /// files named `*.env` or `.env*`, except templates (`*.example`, `*.sample`, `*.template`,
    /// `*.dist`: placeholders, not credentials). Symbolic links are left out and listed in
    /// `skipped`: one could point anywhere, or at a file the batch already holds.
    /// - Throws: `VaultError` `.notFound` or `.permissions` when the directory cannot be read.
    public static func files(in directory: String) throws -> (files: [String], skipped: [String]) {
        guard FileSystem.status(of: directory)?.isDirectory == true else {
            throw VaultError(.notFound, "there is no directory \(directory).")
        }
        let base = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var files: [String] = [], skipped: [String] = []
        for name in try FileSystem.names(in: directory).sorted() {
            let lower = name.lowercased()
            guard lower.hasSuffix(".env") || lower.hasPrefix(".env"),
                  ![".example", ".sample", ".template", ".dist"].contains(where: lower.hasSuffix) else { continue }
            let path = base + "/" + name
            if FileSystem.isSymbolicLink(path) {
                skipped.append(path)
            } else if FileSystem.status(of: path)?.isRegularFile == true {
                files.append(path)
            }
        }
        return (files, skipped)
    }
}
