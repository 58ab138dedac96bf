internal import CSodium

/// The few libsodium primitives Cloakroom uses that are not keys or sealing.
package enum Sodium {
    private static let initialised: Bool = sodium_init() >= 0

    /// `sodium_init` is idempotent and thread-safe, but a failed one must stop the process:
    /// nothing random can be trusted after it.
    package static func ensureReady() {
        guard initialised else { fatalError("libsodium failed to initialise") }
    }

    package static func randomBytes(_ count: Int) -> [UInt8] {
        ensureReady()
        var bytes = [UInt8](repeating: 0, count: count)
        bytes.withUnsafeMutableBytes { randombytes_buf($0.baseAddress!, count) }
        return bytes
    }

    /// A uniformly random integer in `0..<upperBound` (no modulo bias).
    package static func randomIndex(below upperBound: UInt32) -> Int {
        ensureReady()
        return Int(randombytes_uniform(upperBound))
    }

    /// BLAKE2b digest of `bytes`, `length` bytes long (16…64).
    package static func digest(_ bytes: some Collection<UInt8>, length: Int = 32) -> [UInt8] {
        blake2b(Array(bytes), key: nil, length: length)
    }

    /// Keyed BLAKE2b: a MAC of `bytes` under `key` (16…64 key bytes), without copying the key.
    package static func digest(_ bytes: some Collection<UInt8>, keyedBy key: SecureBytes, length: Int = 32) -> [UInt8] {
        key.withUnsafeBytes { blake2b(Array(bytes), key: $0, length: length) }
    }

    private static func blake2b(_ input: [UInt8], key: UnsafeRawBufferPointer?, length: Int) -> [UInt8] {
        ensureReady()
        var out = [UInt8](repeating: 0, count: length)
        let status = out.withUnsafeMutableBufferPointer { o in
            crypto_generichash(
                o.baseAddress!, length, input, UInt64(input.count),
                key?.bindMemory(to: UInt8.self).baseAddress!, key?.count ?? 0)
        }
        precondition(status == 0, "BLAKE2b parameters out of range")
        return out
    }

    /// Whether `a` and `b` are equal, in time that does not depend on where they differ.
    package static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && sodium_memcmp(a, b, a.count) == 0
    }
}

extension Collection<UInt8> {
    /// Lower-case hexadecimal, for fingerprints and digests (never for secrets).
    package var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(count * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
