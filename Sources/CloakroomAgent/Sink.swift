public import Cloakroom
import Synchronization
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

/// A file the agent keeps holding a fresh token, for programs that read a file (as Vault Agent's
/// sinks and Kubernetes' projected tokens do). Each write goes to a temporary file in the same
/// directory, is synced and renamed over the old one: a reader sees the old token or the new,
/// never a part.
public struct Sink: Sendable, Hashable {
    /// How the token is written.
    public enum Format: String, Sendable, CaseIterable {
        /// The token alone, no newline.
        case raw
        /// What `GET /v1/tokens/…` answers.
        case json
        /// `Authorization: Bearer TOKEN` and a newline.
        case header
        /// `ACCESS_TOKEN='…'` and `ACCESS_TOKEN_EXPIRES_AT='…'` lines, for `source`/`EnvironmentFile=`.
        case env
    }

    /// The client whose token it holds.
    public var client: ClientRef
    /// The file.
    public var path: String
    /// How the token is written.
    public var format: Format
    /// Who should own the file (the agent must run as root to give it away); `nil`: the agent's user.
    public var owner: (uid: UInt32, gid: UInt32)?
    /// For a sink made for one process (`cloak exec --token-file`): it is kept while that process
    /// lives, and removed after.
    public var process: Int32?

    /// A sink of `client`'s token at `path`.
    public init(client: ClientRef, path: String, format: Format = .raw, owner: (uid: UInt32, gid: UInt32)? = nil, process: Int32? = nil) {
        (self.client, self.path, self.format, self.owner, self.process) = (client, path, format, owner, process)
    }

    /// `REALM/NAME=PATH[:FORMAT]`, as `cloak agent --sink` takes it.
    /// - Throws: `VaultError` `.invalidInput` naming what is wrong.
    public init(parsing text: String) throws {
        guard let equals = text.firstIndex(of: "=") else {
            throw VaultError(.invalidInput, "a sink is REALM/NAME=PATH[:FORMAT], not '\(text)'.")
        }
        var path = String(text[text.index(after: equals)...])
        var format = Format.raw
        if let colon = path.lastIndex(of: ":"), let named = Format(rawValue: String(path[path.index(after: colon)...])) {
            format = named
            path = String(path[..<colon])
        }
        guard path.hasPrefix("/") else {
            throw VaultError(.invalidInput, "a sink's path must be absolute, not '\(path)' (formats: \(Format.allCases.map(\.rawValue).joined(separator: ", "))).")
        }
        self.init(client: try ClientRef(String(text[..<equals])), path: path, format: format)
    }

    /// Sinks are the same when they write the same file.
    public static func == (a: Sink, b: Sink) -> Bool { a.path == b.path }
    /// Hashes the path, which is what makes a sink this one.
    public func hash(into hasher: inout Hasher) { hasher.combine(path) }

    /// Writes `grant` into the file, atomically, mode 0600 (then given to `owner`).
    func write(_ grant: TokenBroker.Grant) throws {
        let token = grant.token
        let bytes: [UInt8]
        switch format {
        case .raw: bytes = Array(token.value.utf8)
        case .json: bytes = grant.document(now: Date()).bytes
        case .header: bytes = Array("Authorization: Bearer \(token.value)\n".utf8)
        case .env: bytes = Array("ACCESS_TOKEN='\(token.value)'\nACCESS_TOKEN_EXPIRES_AT='\(token.expiresAt.iso8601)'\n".utf8)
        }
        try FileSystem.writeAtomically(path, bytes, replacing: true, owner: owner)
    }

    /// Whether the process it was made for still runs (always, for a sink of the agent's own).
    var isWanted: Bool {
        guard let process else { return true }
        return kill(process, 0) == 0 || errno == EPERM
    }
}

/// The sinks the agent keeps, by the token request they hold.
final class SinkRegistry: Sendable {
    private let sinks = Mutex<[TokenKeeper.Request: [Sink]]>([:])
    private let log: @Sendable (String) -> Void

    init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    /// Adds `sink`; `false` when a sink is at its path already.
    func add(_ sink: Sink, for request: TokenKeeper.Request) -> Bool {
        sinks.withLock { sinks in
            guard !sinks.values.contains(where: { $0.contains(sink) }) else { return false }
            sinks[request, default: []].append(sink)
            return true
        }
    }

    /// Writes `grant` into every sink of `request`.
    func write(_ grant: TokenBroker.Grant, for request: TokenKeeper.Request) {
        for sink in sinks.withLock({ $0[request] ?? [] }) {
            do { try sink.write(grant) } catch { log("cannot write the sink \(sink.path): \(error)") }
        }
    }

    /// Removes the sinks whose process is gone (their files too); returns their requests, one
    /// per sink removed.
    func sweep() -> [TokenKeeper.Request] {
        let gone = sinks.withLock { sinks in
            var gone: [(TokenKeeper.Request, Sink)] = []
            for (request, list) in sinks {
                let (keep, drop) = (list.filter(\.isWanted), list.filter { !$0.isWanted })
                gone += drop.map { (request, $0) }
                sinks[request] = keep.isEmpty ? nil : keep
            }
            return gone
        }
        for (_, sink) in gone {
            FileSystem.remove(sink.path)
            log("removed the sink \(sink.path): process \(sink.process ?? 0) has ended")
        }
        return gone.map(\.0)
    }

    /// Removes the sinks made for a process (the agent stopping); the agent's own stay.
    func removeProcessSinks() {
        let files = sinks.withLock { sinks in sinks.values.flatMap { $0.filter { $0.process != nil }.map(\.path) } }
        for file in files { FileSystem.remove(file) }
    }
}
