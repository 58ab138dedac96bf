/// The libFuzzer harnesses (see Fuzz/README.md), kept in the library because the parsers they
/// drive are `internal`: a separate module could reach them only through `@testable import`,
/// which a release build (the fuzz build) does not allow. `package` keeps them out of the public
/// API. Two callers share them: `cloak-fuzz` (Fuzz/Entry), whose `LLVMFuzzerTestOneInput` traps
/// on any violation, and `FuzzCorpusTests`, which replays every committed input without a
/// sanitizer and expects no violation.
///
/// A harness returns the invariants an input broke (empty: none) rather than trapping, so the
/// replay test can name the input and the invariant. A crash inside the library stays a crash.
package enum FuzzHarness: String, CaseIterable, Sendable {
    /// `DotEnv.parse`, `credentials()`, and a single-quote round trip of every value.
    case dotenv
    /// `SealedBundle(_:source:)` on the raw bytes and again with the checksum made right; the
    /// decrypted payload reader `CredentialBundle(decoding:)`, whose result must survive
    /// encode → seal → open → decode unchanged.
    case bundle
    /// Token responses and error bodies, JWTs, JWKS (and a JWT checked against it), discovery
    /// documents, `Retry-After`.
    case oauth
    /// `Name`, `ClientRef`, `EndpointURL.validate` and the Keycloak URL helpers.
    case validation

    /// Runs the harness on one input; returns the invariants it broke.
    package func run(_ data: UnsafeRawBufferPointer) -> [String] {
        var violations = Violations()
        switch self {
        case .dotenv: FuzzDotEnv.run(data, &violations)
        case .bundle: FuzzBundle.run(data, &violations)
        case .oauth: FuzzOAuth.run(data, &violations)
        case .validation: FuzzValidation.run(data, &violations)
        }
        return violations.list
    }

    package func run(_ bytes: [UInt8]) -> [String] { bytes.withUnsafeBytes { run($0) } }

    /// The payload of a bundle file sealed with Fuzz/fuzz.key: a seed for the `bundle` harness.
    package static func bundlePayload(ofBundle bytes: [UInt8]) throws -> [UInt8] { try FuzzBundle.payload(ofBundle: bytes) }

    /// See `FuzzValidation.urlContract`.
    package static let urlContractPrefix = FuzzValidation.urlContract
}

/// What a harness found wrong with one input.
struct Violations {
    private(set) var list: [String] = []

    mutating func check(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { list.append(message()) }
    }
}

/// Whether `text` could change what a terminal shows (C0, DEL, C1), the rule every message
/// that echoes input must keep.
func hasControlCharacters(_ text: some StringProtocol) -> Bool {
    text.unicodeScalars.contains { $0.value < 0x20 || (0x7f...0x9f).contains($0.value) }
}
