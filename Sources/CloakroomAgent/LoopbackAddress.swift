import Cloakroom

/// A TCP address on this host's loopback only (127.0.0.0/8 or ::1): `--listen 127.0.0.1:8477`.
/// Anything else is refused, so that no flag can put the agent on a network.
public struct LoopbackAddress: Sendable, CustomStringConvertible {
    /// The address, without brackets.
    public let host: String
    /// The port; 0 for any free one.
    public let port: Int

    /// `HOST:PORT` or `[::1]:PORT`.
    /// - Throws: `VaultError` `.invalidInput` for anything but a loopback address and a port.
    public init(_ text: String) throws {
        let host: Substring, port: Substring
        if text.hasPrefix("["), let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") {
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else if let colon = text.lastIndex(of: ":"), !text[..<colon].contains(":") {
            (host, port) = (text[..<colon], text[text.index(after: colon)...])
        } else {
            throw VaultError(.invalidInput, "'\(text)' is not HOST:PORT (127.0.0.1:8477, [::1]:8477).")
        }
        guard let number = Int(port), (0...65535).contains(number) else {
            throw VaultError(.invalidInput, "'\(port)' is not a port (0 to 65535).")
        }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        let loopbackV4 = octets.count == 4 && octets[0] == 127 && host.split(separator: ".").count == 4
        guard loopbackV4 || host == "::1" else {
            throw VaultError(.invalidInput, "the agent listens on loopback only (127.0.0.0/8 or ::1), not on \(host).")
        }
        (self.host, self.port) = (String(host), number)
    }

    /// `host:port`.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
