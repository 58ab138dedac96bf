/// `application/x-www-form-urlencoded` as RFC 6749 Appendix B uses it: every byte outside
/// `A-Z a-z 0-9 - . _ ~` is percent-encoded (a space too, so `+` never appears), which is
/// also exactly what §2.3.1 asks for the client_id and secret inside HTTP Basic.
///
/// Keycloak form-decodes both halves of a Basic credential (contract §1), so a secret with
/// `+ % & =` must be encoded there, or it reaches Keycloak changed.
package enum FormEncoding {
    static func encode(_ bytes: some Sequence<UInt8>, into out: inout [UInt8]) {
        encode(bytes) { out.append($0) }
    }

    /// Each encoded byte to `put`: for output that must go to sodium memory, not an array.
    static func encode(_ bytes: some Sequence<UInt8>, to put: (UInt8) -> Void) {
        let hex: StaticString = "0123456789ABCDEF"
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."),
                 UInt8(ascii: "_"), UInt8(ascii: "~"):
                put(byte)
            default:
                put(UInt8(ascii: "%"))
                put(hex.utf8Start[Int(byte >> 4)])
                put(hex.utf8Start[Int(byte & 0x0f)])
            }
        }
    }

    package static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        encode(text.utf8, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// `name=value&…` with both sides encoded.
    static func body(_ fields: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            encode(field.0.utf8, into: &out)
            out.append(UInt8(ascii: "="))
            encode(field.1.utf8, into: &out)
        }
        return out
    }
}

