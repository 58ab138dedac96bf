import AsyncHTTPClient
import CloakIdP
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The real `cloak-idp` binary, as users and scripts run it.
@Suite("cloak-idp executable")
struct ExecutableTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The binary `swift build` put beside the test bundle.
    static var binary: URL? {
        let candidates = [
            Bundle.main.bundleURL.appendingPathComponent("cloak-idp"),
            Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("cloak-idp"),
            packageRoot.appendingPathComponent(".build/debug/cloak-idp"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    final class Launched {
        let process = Process()
        let stdout = Pipe()
        let stderr = Pipe()
    }

    static func launch(_ arguments: [String]) throws -> Launched {
        let binary = try #require(binary, "build cloak-idp first (swift build)")
        let launched = Launched()
        launched.process.executableURL = binary
        launched.process.arguments = arguments
        launched.process.standardOutput = launched.stdout
        launched.process.standardError = launched.stderr
        try launched.process.run()
        return launched
    }

    /// Reads the first line of stdout, giving up after 30 s.
    static func firstLine(of launched: Launched) async throws -> String {
        let handle = launched.stdout.fileHandleForReading
        return try await withThrowingTaskGroup(of: String.self) { group in
            group.addTask {
                var bytes: [UInt8] = []
                while true {
                    let chunk = handle.readData(ofLength: 1)
                    if chunk.isEmpty || chunk.first == UInt8(ascii: "\n") { break }
                    bytes.append(contentsOf: chunk)
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            group.addTask {
                try await Task.sleep(for: .seconds(30))
                throw HarnessError("no base URL within 30 s")
            }
            let line = try await group.next()!
            group.cancelAll()
            return line
        }
    }

    @Test func printsTheBaseURLServesAndStopsCleanlyOnSIGTERM() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloak-idp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("idp.json")
        let secret = "FileSecret" + String(UUID().uuidString.prefix(8))
        try Data(#"{"realms":[{"realm":"r1","clients":[{"clientId":"broker-svc","secret":"\#(secret)"}]}]}"#.utf8).write(to: config)

        let launched = try Self.launch(["--config", config.path, "--port", "0"])
        let base = try await Self.firstLine(of: launched)
        #expect(base.hasPrefix("http://127.0.0.1:"))

        var request = HTTPClientRequest(url: base + "/realms/r1/protocol/openid-connect/token")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.body = .bytes(.init(string: "grant_type=client_credentials&client_id=broker-svc&client_secret=\(secret)"))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        #expect(response.status == .ok)
        _ = try await response.body.collect(upTo: 1 << 20)

        launched.process.terminate()  // SIGTERM
        launched.process.waitUntilExit()
        #expect(launched.process.terminationReason == .exit)
        #expect(launched.process.terminationStatus == 0)
        let output = String(decoding: launched.stdout.fileHandleForReading.readDataToEndOfFile() + launched.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(!output.contains(secret), "nothing printed may contain the secret")
        #expect(!output.contains("eyJ"), "nor a token")
    }

    @Test func badConfigurationExitsWithUsageErrorAndNoSecret() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloak-idp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("idp.json")
        try Data(#"{"realms":[{"realm":"r1","clients":[{"clientId":"a","secret":"TopSecret42","secrt":"x"}]}]}"#.utf8).write(to: config)
        let launched = try Self.launch(["--config", config.path])
        launched.process.waitUntilExit()
        #expect(launched.process.terminationStatus == 64)
        let errors = String(decoding: launched.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(errors.contains("unknown key 'secrt'"))
        #expect(!errors.contains("TopSecret42"))
    }
}
