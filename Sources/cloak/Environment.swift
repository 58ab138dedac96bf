import ArgumentParser
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum Environment {
    /// `--env-var`: a name a shell and `execve` both take as a variable, `[A-Za-z_][A-Za-z0-9_]*`.
    /// `cloak token --format env` prints it into shell code, so nothing else may pass.
    /// - Parameter option: the option that gave it, for the message.
    static func checkVariableName(_ name: String, option: String = "--env-var") throws {
        let valid = !name.isEmpty && name.utf8.enumerated().allSatisfy { index, byte in
            byte == UInt8(ascii: "_") || (byte | 0x20 >= UInt8(ascii: "a") && byte | 0x20 <= UInt8(ascii: "z"))
                || (index > 0 && byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
        }
        guard valid else { throw ValidationError("\(option) must be a variable name ([A-Za-z_][A-Za-z0-9_]*), not '\(name.escapingControlCharacters)'.") }
    }

    /// The variable `name`, or `nil` when it is unset or empty (an empty `CLOAK_VAULT=` means
    /// "not set", as in most tools). `getenv`, not a `[String: String]` of the whole environment:
    /// on the cached-token path that dictionary cost more than the token (building it makes the
    /// runtime look up `String: Hashable` across every conformance of a static binary, ~0.8 M
    /// instructions). The one `setenv` in cloak is `exec`'s, after its last read and just before it
    /// replaces the process, so no read races a write.
    static func value(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

/// A numeric environment setting and the seconds it may hold; anything else is exit 2. One
/// table, so that `FastToken` refuses exactly what the full command refuses. A struct, not a
/// `[String: ClosedRange<TimeInterval>]`: that dictionary's metadata made the runtime check
/// `Double: Comparable` and `String: Hashable` at start-up (~0.3 M instructions on every
/// cached token).
struct EnvironmentSetting {
    let variable: String
    let lowest: TimeInterval
    let highest: TimeInterval

    var range: ClosedRange<TimeInterval> { lowest...highest }

    static let busyTimeout = EnvironmentSetting(variable: "CLOAK_BUSY_TIMEOUT", lowest: 0, highest: 3600)
    static let deadline = EnvironmentSetting(variable: "CLOAK_DEADLINE", lowest: 0.001, highest: 3600)
    static let all = [busyTimeout, deadline]
}
