public import Logging
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
#if canImport(FoundationEssentials)
internal import FoundationEssentials
#else
internal import Foundation
#endif
import Cloakroom

/// The agent's log lines: swift-log, written to stderr (what systemd's journal keeps) as text or
/// as one JSON object per line. What the agent logs names clients and peers, never a secret or a
/// token: messages are made from names, codes and the library's messages, which carry neither.
public struct AgentLogHandler: LogHandler {
    /// How each line is written.
    public enum Format: String, Sendable, CaseIterable {
        /// `2026-12-02T07:27:07Z info cloak agent: serving … client=r1/orders`
        case text
        /// `{"time": "…", "level": "info", "message": "…", "client": "r1/orders"}`
        case json
    }

    /// How lines are written.
    public var format: Format
    /// Lines below this level are dropped.
    public var logLevel: Logger.Level = .info
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]

    /// A handler writing `format` lines.
    public init(format: Format) { self.format = format }

    /// The metadata value under `key`.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes one line (one `write(2)`, so lines from several threads never interleave).
    public func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        let time = Date().iso8601
        var line: String
        switch format {
        case .text:
            line = "\(time) \(event.level) cloak agent: \(event.message)"
            for key in merged.keys.sorted() { line += " \(key)=\(merged[key]!)" }
            line = line.escapingControlCharacters
        case .json:
            var fields: [(String, JSON)] = [("time", .string(time)), ("level", .string(event.level.rawValue)), ("message", .string("\(event.message)"))]
            for key in merged.keys.sorted() { fields.append((key, .string("\(merged[key]!)"))) }
            line = JSON.fields(fields).line
        }
        let bytes = Array((line + "\n").utf8)
        bytes.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }
}
