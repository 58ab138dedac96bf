/// Reads one JSON document (RFC 8259) into a `JSONValue`, or says it is not one.
///
/// Every body the broker reads — token responses, error bodies, JWT headers and claims,
/// discovery documents, key sets, admin representations — is small and read once. Decoding
/// `JSONValue` through `JSONDecoder` asked the decoder for a `Bool`, then a `Double`, then a
/// `String`… at every value, and each miss built and threw a `DecodingError`: a tenth of a bulk
/// rotation's CPU went to that. This reader looks at the next byte instead.
///
/// Strict where JSONDecoder is strict (one value and only whitespace around it, no trailing
/// commas, no control characters in strings, valid UTF-8, paired surrogates) and bounded
/// (nesting depth), since its input comes from servers we do not control. A repeated object key
/// keeps its last value. The emulator has a parser of its own, deliberately: the two sides of a
/// test must not share a mistake.
package struct JSONReader {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    /// Deeper than any document a server sends us; bounds the recursion.
    static let maximumDepth = 64

    /// The value `bytes` holds, or `nil` when they are not exactly one JSON value.
    package static func read(_ bytes: some Collection<UInt8>) -> JSONValue? {
        let read = bytes.withContiguousStorageIfAvailable { JSONReader.read(buffer: $0) }
        return read ?? Array(bytes).withUnsafeBufferPointer { JSONReader.read(buffer: $0) }
    }

    private static func read(buffer: UnsafeBufferPointer<UInt8>) -> JSONValue? {
        var reader = JSONReader(bytes: buffer)
        guard let value = reader.value() else { return nil }
        reader.skipWhitespace()
        return reader.index == buffer.count ? value : nil
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private var next: UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { index += 1 }
    }

    /// Consumes `literal` if it comes next.
    private mutating func take(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
        index += count
        return true
    }

    private mutating func value() -> JSONValue? {
        skipWhitespace()
        guard let next else { return nil }
        switch next {
        case UInt8(ascii: "{"): return object()
        case UInt8(ascii: "["): return array()
        case UInt8(ascii: "\""): return string().map(JSONValue.string)
        case UInt8(ascii: "t"): return take("true") ? .bool(true) : nil
        case UInt8(ascii: "f"): return take("false") ? .bool(false) : nil
        case UInt8(ascii: "n"): return take("null") ? .null : nil
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return number()
        default: return nil
        }
    }

    /// `{` or `[` is next: enters it, unless that nests too deep.
    private mutating func enter() -> Bool {
        depth += 1
        index += 1
        return depth <= Self.maximumDepth
    }

    private mutating func object() -> JSONValue? {
        guard enter() else { return nil }
        defer { depth -= 1 }
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if take("}") { return .object(members) }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\""), let key = string() else { return nil }
            skipWhitespace()
            guard take(":"), let member = value() else { return nil }
            members[key] = member
            skipWhitespace()
            if take(",") { continue }
            return take("}") ? .object(members) : nil
        }
    }

    private mutating func array() -> JSONValue? {
        guard enter() else { return nil }
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        skipWhitespace()
        if take("]") { return .array(elements) }
        while true {
            guard let element = value() else { return nil }
            elements.append(element)
            skipWhitespace()
            if take(",") { continue }
            return take("]") ? .array(elements) : nil
        }
    }

    /// A string, `"` next. Without escapes (nearly always) it is one validated copy of its bytes.
    private mutating func string() -> String? {
        index += 1
        let start = index
        while let byte = next, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") {
            guard byte >= 0x20 else { return nil }
            index += 1
        }
        guard let stop = next else { return nil }
        if stop == UInt8(ascii: "\"") {
            index += 1
            let text = UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
            // ASCII needs no validating; `String(validating:as:)` is generic, and unspecialised
            // here it looked its metadata up for every string (perf: 0.8 % of a bulk rotation).
            if text.allSatisfy({ $0 < 0x80 }) { return String(decoding: text, as: UTF8.self) }
            return String(validating: text, as: UTF8.self)
        }
        var utf8 = Array(bytes[start..<index])
        while let byte = next {
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let escaped = next else { return nil }
                index += 1
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard let scalar = escapedScalar() else { return nil }
                    utf8.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            case 0x00..<0x20:
                return nil
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    /// The scalar of a `\uXXXX` escape (its `\u` read already), joining a surrogate pair.
    private mutating func escapedScalar() -> Unicode.Scalar? {
        guard let high = hex4() else { return nil }
        guard (0xD800...0xDBFF).contains(high) else { return Unicode.Scalar(high) }  // nil for a lone low surrogate
        guard take("\\u"), let low = hex4(), (0xDC00...0xDFFF).contains(low) else { return nil }
        return Unicode.Scalar(0x10000 + (high - 0xD800) << 10 + (low - 0xDC00))
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let digit = Self.hexDigit(bytes[index]) else { return nil }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }

    /// A number, as RFC 8259 spells one (no leading zeros, no `+`, no bare `.`), as a `Double`.
    private mutating func number() -> JSONValue? {
        let start = index
        _ = take("-")
        guard let first = next, Self.isDigit(first) else { return nil }
        index += 1
        if first != UInt8(ascii: "0") { skipDigits() }
        if take(".") {
            guard let digit = next, Self.isDigit(digit) else { return nil }
            skipDigits()
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            index += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { index += 1 }
            guard let digit = next, Self.isDigit(digit) else { return nil }
            skipDigits()
        }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let number = Double(text), number.isFinite else { return nil }
        return .number(number)
    }

    private mutating func skipDigits() {
        while let byte = next, Self.isDigit(byte) { index += 1 }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
}
