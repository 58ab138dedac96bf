/// JSON for `--json` output, written by hand: keys keep the order they are listed in (the order
/// a reader expects, stable across releases), absent values are `null` rather than missing, and
/// 10,000 clients print in a fraction of JSONEncoder's time. Shared by `cloak` and the agent's
/// HTTP API, which answer with the same documents.
package enum JSON: Sendable {
    case string(String)
    case number(Int64)
    case bool(Bool)
    case null
    case array([JSON])
    /// An object whose fields are known only at run time; `object([…])` for literal ones.
    case fields([(String, JSON)])

    package static func object(_ pairs: KeyValuePairs<String, JSON>) -> JSON { .fields(pairs.map { ($0.key, $0.value) }) }

    package static func optional(_ text: String?) -> JSON { text.map(JSON.string) ?? .null }
    package static func optional(_ number: Int?) -> JSON { number.map { .number(Int64($0)) } ?? .null }
    package static func strings(_ texts: [String]) -> JSON { .array(texts.map(JSON.string)) }

    /// Pretty-printed with two-space indentation and a final newline.
    package var text: String { String(decoding: bytes, as: UTF8.self) }

    /// On one line (for a log line or a server-sent event): `text` with its indentation and line
    /// breaks gone. A string's own line breaks are escapes (`\n`), so no value is changed.
    package var line: String {
        text.split(separator: "\n").map { $0.drop { $0 == " " } }.joined(separator: " ")
    }

    /// `text` as UTF-8.
    package var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4096)
        write(into: &out, indent: 0)
        out.append(UInt8(ascii: "\n"))
        return out
    }

    // Bytes, not String appends: this is the hot loop of `client list --json` on large vaults.
    private func write(into out: inout [UInt8], indent: Int) {
        switch self {
        case .string(let text): Self.quote(text, into: &out)
        case .number(let number): out.append(contentsOf: String(number).utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            guard !items.isEmpty else { out.append(contentsOf: "[]".utf8); return }
            out.append(contentsOf: "[\n".utf8)
            for (index, item) in items.enumerated() {
                Self.indent(indent + 2, into: &out)
                item.write(into: &out, indent: indent + 2)
                out.append(contentsOf: (index == items.count - 1 ? "\n" : ",\n").utf8)
            }
            Self.indent(indent, into: &out)
            out.append(UInt8(ascii: "]"))
        case .fields(let fields):
            guard !fields.isEmpty else { out.append(contentsOf: "{}".utf8); return }
            out.append(contentsOf: "{\n".utf8)
            for (index, field) in fields.enumerated() {
                Self.indent(indent + 2, into: &out)
                Self.quote(field.0, into: &out)
                out.append(contentsOf: ": ".utf8)
                field.1.write(into: &out, indent: indent + 2)
                out.append(contentsOf: (index == fields.count - 1 ? "\n" : ",\n").utf8)
            }
            Self.indent(indent, into: &out)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func indent(_ count: Int, into out: inout [UInt8]) {
        out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: count))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// RFC 8259 §7: quote, backslash and control characters are escaped; everything else is UTF-8 as is.
    private static func quote(_ text: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = text
        let utf8 = text.utf8
        // Over the contiguous bytes, not the `UTF8View`'s indices: the scan of a token (1–2 KB) was
        // a tenth of the agent's time per request when it went through the view.
        let plain = text.withUTF8 { bytes in
            guard bytes.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != 0x7f }) else { return false }
            out.append(contentsOf: bytes)  // the common case: nothing to escape
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: "\\\"".utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: "\\\\".utf8)
            case UInt8(ascii: "\n"): out.append(contentsOf: "\\n".utf8)
            case UInt8(ascii: "\r"): out.append(contentsOf: "\\r".utf8)
            case UInt8(ascii: "\t"): out.append(contentsOf: "\\t".utf8)
            case 0..<0x20, 0x7f:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xf)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
