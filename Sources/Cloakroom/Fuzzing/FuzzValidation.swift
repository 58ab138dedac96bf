#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif

/// The validation harness: the input, as text, is offered as a name, a `REALM/NAME`, and a
/// realm URL (with and without `--allow-insecure-http`).
enum FuzzValidation {
    /// Marks the violations of `EndpointURL.validate`'s contract that issue 9 item 3 (loopback,
    /// ports, control characters; the lead's) fixes, so a run before that fix can set them aside
    /// (`CLOAK_FUZZ_SET_ASIDE`, `FuzzCorpusTests`) instead of stopping at the first.
    static let urlContract = "[issue 9 item 3] "

    static func run(_ data: UnsafeRawBufferPointer, _ violations: inout Violations) {
        let text = String(decoding: data, as: UTF8.self)
        name(text, &violations)
        clientRef(text, &violations)
        for allowHTTP in [false, true] { url(text, allowHTTP: allowHTTP, &violations) }
        _ = EndpointURL.keycloakAdminURL(from: text)
        _ = EndpointURL.keycloakJWKSURL(fromTokenURL: text)
        _ = EndpointURL.keycloakServer(of: text)
        _ = EndpointURL.keycloakTokenURL(issuer: text)
        if let realm = EndpointURL.keycloakRealm(of: text) {
            violations.check(!realm.isEmpty && !realm.contains("/"), "keycloakRealm(of:) gave \(realm.debugDescription)")
        }
    }

    /// Accepted names are exactly `isValid`'s, print as typed, are accepted again, and stay
    /// names when suffixed (`orders-2`, as an import names a second `orders`).
    private static func name(_ text: String, _ violations: inout Violations) {
        let valid = Name.isValid(text)
        do {
            let name = try Name(text)
            violations.check(valid && name.description == text, "Name accepted \(text.debugDescription) but isValid says \(valid)")
            violations.check((try? Name(name.description)) == name, "Name(\(text.debugDescription)).description is not accepted again")
            for n in [2, 10, 1_000_000, Int.max] {
                violations.check(Name.isValid(name.suffixed(n).rawValue), "\(text.debugDescription) suffixed with \(n) is not a name")
            }
        } catch let error as VaultError {
            violations.check(!valid && error.code == .invalidInput, "Name refused a valid name \(text.debugDescription)")
            violations.check(!hasControlCharacters(error.message), "a name's message with control characters: \(error.message.debugDescription)")
        } catch {
            violations.check(false, "Name threw \(type(of: error))")
        }
    }

    private static func clientRef(_ text: String, _ violations: inout Violations) {
        do {
            let ref = try ClientRef(text)
            violations.check(ref.description == text && (try? ClientRef(ref.description)) == ref, "ClientRef(\(text.debugDescription)) does not round-trip")
        } catch let error as VaultError {
            violations.check(!hasControlCharacters(error.message), "a client reference's message with control characters: \(error.message.debugDescription)")
        } catch {
            violations.check(false, "ClientRef threw \(type(of: error))")
        }
    }

    /// Whatever `validate` accepts is the text itself, has no control characters or white space,
    /// and a port in 1…65535 if it has one; whatever it refuses, its message echoes no control
    /// characters to the terminal.
    private static func url(_ text: String, allowHTTP: Bool, _ violations: inout Violations) {
        do {
            let accepted = try EndpointURL.validate(text, as: "the token URL", allowHTTP: allowHTTP)
            violations.check(accepted == text, "validate changed \(text.debugDescription)")
            violations.check(!text.unicodeScalars.contains { $0.properties.isWhitespace || $0.value < 0x20 || (0x7f...0x9f).contains($0.value) },
                             urlContract + "validate accepted \(text.debugDescription), which has control characters or white space")
            if let port = URLComponents(string: text)?.port {
                violations.check((1...65535).contains(port), urlContract + "validate accepted \(text.debugDescription), whose port is \(port)")
            }
            if !allowHTTP, text.lowercased().hasPrefix("http:") {
                let host = URLComponents(string: text)?.host ?? ""
                violations.check(isLoopback(host), urlContract + "validate accepted plain http to \(host.debugDescription), not a loopback host")
            }
        } catch let error as VaultError {
            violations.check(error.code == .invalidInput, "validate threw \(error.code)")
            violations.check(!hasControlCharacters(error.message), urlContract + "a URL's message with control characters: \(error.message.debugDescription)")
        } catch {
            violations.check(false, "validate threw \(type(of: error))")
        }
    }

    /// Issue 9 item 3's rule, written out independently and leniently (any spelling that
    /// inet_aton reads as 127.x.y.z, such as `127.1` or `127.0.0.010`, counts; `0127.…` is octal, not 127): an address in
    /// 127.0.0.0/8, `::1`, or exactly `localhost`.
    static func isLoopback(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return (1...4).contains(parts.count) && parts.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { (48...57).contains($0) } }
            && parts[0] == "127"
    }
}
