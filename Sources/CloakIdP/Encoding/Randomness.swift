/// Random identifiers and secrets, all from the system's CSPRNG.
enum Randomness {
    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)

    /// A secret over Keycloak's alphabet (`SecretGenerator`: A–Z a–z 0–9), uniformly drawn.
    static func alphanumericSecret(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var output: [UInt8] = []
        output.reserveCapacity(length)
        for _ in 0..<length {
            output.append(alphanumerics[Int(generator.next(upperBound: UInt64(alphanumerics.count)))])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A random (version 4) UUID in lower-case canonical form, as Keycloak prints ids.
    static func uuid() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = bytes[6] & 0x0F | 0x40
        bytes[8] = bytes[8] & 0x3F | 0x80
        return format(uuidBytes: bytes)
    }

    static func format(uuidBytes bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var output: [UInt8] = []
        output.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if index == 4 || index == 6 || index == 8 || index == 10 { output.append(UInt8(ascii: "-")) }
            output.append(digits[Int(byte >> 4)])
            output.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }
}
