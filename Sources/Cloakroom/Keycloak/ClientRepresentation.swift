/// A Keycloak `ClientRepresentation` as the admin API returned it, kept whole so that a PUT sends
/// back every field it read (Keycloak treats some absent fields as "off": contract §4.5) with only
/// `secret` changed.
struct ClientRepresentation: Sendable {
    var fields: [String: JSONValue]

    init(json body: [UInt8]) throws {
        guard case .object(let fields)? = JSONReader.read(body) else {
            throw RepresentationError()
        }
        self.fields = fields
    }

    init(fields: [String: JSONValue]) { self.fields = fields }

    struct RepresentationError: Error {}

    /// A confidential client with a service account: one that gets tokens with its own secret.
    var usesClientCredentials: Bool {
        !isPublic && !isBearerOnly && fields["serviceAccountsEnabled"] == .bool(true) && fields["enabled"] != .bool(false)
            && (authenticatorType ?? "client-secret") == "client-secret"
    }

    var id: String? { fields["id"]?.string }
    var clientID: String? { fields["clientId"]?.string }
    var isPublic: Bool { fields["publicClient"] == .bool(true) }
    var isBearerOnly: Bool { fields["bearerOnly"] == .bool(true) }
    var authenticatorType: String? { fields["clientAuthenticatorType"]?.string }
    /// Whether a secret-rotation policy stamped this client's secret with an expiry (§4.6).
    var hasSecretExpiration: Bool {
        if case .object(let attributes)? = fields["attributes"] { return attributes["client.secret.expiration.time"] != nil }
        return false
    }

    /// Whether Keycloak's dual-secret rotation policy holds an old secret for this client (§4.6).
    var hasRotatedSecret: Bool {
        if case .object(let attributes)? = fields["attributes"] { return attributes["client.secret.rotated"]?.string?.isEmpty == false }
        return false
    }

    /// The JSON body of a PUT that sets `secret`. The secret is written straight into the bytes
    /// the caller sends and then zeroes; it never becomes a `String`.
    func body(settingSecret secret: ClientSecret) -> [UInt8] {
        var out: [UInt8] = Array(#"{"secret":"#.utf8)
        secret.withUnsafeBytes { JSONWriter.quote($0, into: &out) }
        for (key, value) in fields.sorted(by: { $0.key < $1.key }) where key != "secret" {
            out.append(UInt8(ascii: ","))
            JSONWriter.quote(Array(key.utf8), into: &out)
            out.append(UInt8(ascii: ":"))
            JSONWriter.write(value, into: &out)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

/// Compact JSON for request bodies (`JSONValue` → bytes).
enum JSONWriter {
    static func write(_ value: JSONValue, into out: inout [UInt8]) {
        switch value {
        case .string(let text): quote(Array(text.utf8), into: &out)
        case .number(let number):
            // Numbers are read as Doubles (JSONReader); Keycloak's are integers (notBefore,
            // nodeReRegistrationTimeout) and must go back without a ".0".
            if number.rounded() == number, abs(number) < 9.0e15 {
                out.append(contentsOf: String(Int64(number)).utf8)
            } else {
                out.append(contentsOf: "\(number)".utf8)
            }
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let fields):
            out.append(UInt8(ascii: "{"))
            for (index, (key, item)) in fields.sorted(by: { $0.key < $1.key }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                quote(Array(key.utf8), into: &out)
                out.append(UInt8(ascii: ":"))
                write(item, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// RFC 8259 §7 string quoting of UTF-8 bytes.
    static func quote(_ bytes: some Collection<UInt8>, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0..<0x20, 0x7f:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0xf)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
