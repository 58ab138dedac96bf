import Foundation
import CloakroomTestSupport
import Testing


/// A real `cloak agent` serving a sandbox's vault on a Unix socket; stopped by its PID.
final class AgentProcess: @unchecked Sendable {
    let process = Process()
    let socket: String
    private let logFile: String

    /// Starts `cloak agent --socket SOCKET ARGUMENTS…` and waits until it answers. `redirections`:
    /// shell redirections for file-descriptor plumbing (`3<FILE` for `--passphrase-fd 3`); the
    /// shell then execs cloak, so the PID is cloak's.
    init(_ sandbox: Sandbox, socket: String? = nil, arguments: [String] = [], environment: [String: String] = [:],
         redirections: String? = nil) throws {
        self.socket = socket ?? sandbox.directory.file("run/agent.sock")
        logFile = sandbox.directory.file("agent-\(UUID().uuidString.prefix(8)).log")
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        if let redirections {
            let quoted = (["agent", "--socket", self.socket] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "exec \"$0\" \(quoted.joined(separator: " ")) \(redirections)", Sandbox.binary]
        } else {
            process.executableURL = URL(fileURLWithPath: Sandbox.binary)
            process.arguments = ["agent", "--socket", self.socket] + arguments
        }
        process.environment = sandbox.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: logFile)
        try process.run()
        let end = Date().addingTimeInterval(20)
        while Date() < end, process.isRunning, !log.contains("serving") { usleep(20_000) }
        guard log.contains("serving") else {
            stop()
            throw RawVault.Failure(description: "cloak agent did not start:\n\(log)")
        }
    }

    deinit { stop() }

    /// What the agent wrote to stderr so far.
    var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

    /// SIGTERM, then waits: the exit status (or the signal that ended it).
    @discardableResult
    func stop() -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    func signal(_ number: Int32) { kill(process.processIdentifier, number) }

    struct Reply {
        var status: Int
        var body: String
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]) ?? [:] }
        var list: [[String: Any]] { (try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [[String: Any]]) ?? [] }
    }

    /// `curl --unix-socket` (as another user with `setpriv`, when `uid` is given).
    func curl(_ path: String, method: String = "GET", uid: UInt32? = nil) throws -> Reply {
        try Client(socket: socket).curl(path, method: method, uid: uid)
    }

    /// curl on a socket, whoever started what listens there.
    struct Client {
        let socket: String

        func curl(_ path: String, method: String = "GET", uid: UInt32? = nil) throws -> Reply {
        let process = Process()
        var arguments = ["-s", "-X", method, "--unix-socket", socket, "-w", "\n%{http_code}", "http://agent" + path]
        if let uid {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            arguments = ["--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", "/usr/bin/curl"] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        let newline = text.lastIndex(of: "\n") ?? text.startIndex
        return Reply(status: Int(text[newline...].dropFirst()) ?? 0, body: String(text[..<newline]))
        }
    }
}

/// Waits up to `seconds` for `condition`, then expects it.
func waitFor(seconds: Double = 10, _ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let end = Date().addingTimeInterval(seconds)
    while !condition(), Date() < end { try await Task.sleep(for: .milliseconds(50)) }
    #expect(condition(), sourceLocation: sourceLocation)
}
