import Foundation
import CloakroomTestSupport
import Testing

/// What one run of the real `cloak` binary did.
struct Outcome: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\n--- stdout\n\(stdout)--- stderr\n\(stderr)" }
}

/// A sandbox for CLI tests: its own vault and key file in a temporary directory, and the
/// built `cloak` binary run with an environment that points at them.
final class Sandbox: @unchecked Sendable {
    let directory = TemporaryDirectory()
    /// The vault file, or a team vault's URL.
    let vault: String
    var keyFile: String { directory.file("key") }

    /// A sandbox whose vault is a file in its directory, or the vault at `location` (a team
    /// vault's URL, shared with other sandboxes as hosts share it).
    init(vault location: String? = nil) {
        vault = location ?? directory.file("vault/vault.db")
    }

    /// The throwaway PostgreSQL cluster's URL for a new schema (`scripts/test.sh` starts the
    /// cluster; `nil` without it), and the password file to reach it with.
    static func teamVault() -> (url: String, passwords: String)? {
        let environment = ProcessInfo.processInfo.environment
        guard let base = environment["CLOAK_TEST_POSTGRES"], let ca = environment["CLOAK_TEST_POSTGRES_CA"],
              let passwords = environment["CLOAK_TEST_PGPASSFILE"] else { return nil }
        return (base + "?sslrootcert=" + ca + "&schema=cli_" + UUID().uuidString.prefix(8).lowercased(), passwords)
    }

    /// Extra environment every run gets (a team vault's PGPASSFILE).
    var extraEnvironment: [String: String] = [:]

    /// `$CLOAK_BIN` (scripts/test.sh: the fully static `cloak` that ships), else `cloak` next to
    /// this test bundle in .build/<config>/.
    static let binary = ProcessInfo.processInfo.environment["CLOAK_BIN"] ?? IdP.productsDirectory + "/cloak"

    var environment: [String: String] {
        [
            "PATH": "/usr/bin:/bin",
            "HOME": directory.path,
            "CLOAK_VAULT": vault,
            "CLOAK_KEY_FILE": keyFile,
        ].merging(extraEnvironment) { $1 }
    }

    /// Runs `cloak arguments…` with `stdin` as its standard input (empty when nil).
    @discardableResult
    func run(_ arguments: [String], stdin: String? = nil, environment extra: [String: String] = [:],
             viaShell: String? = nil) throws -> Outcome {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build cloak first: swift build")
        let process = Process()
        if let viaShell {
            // For file-descriptor plumbing (`--passphrase-fd 3 3<file`) only a shell can set up.
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", viaShell, Self.binary]  // the binary is $0
        } else {
            process.executableURL = URL(fileURLWithPath: Self.binary)
            process.arguments = arguments
        }
        process.environment = environment.merging(extra) { $1 }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self), stderr: String(decoding: err, as: UTF8.self))
    }

    /// `cloak ARGS` must succeed; returns its outcome.
    @discardableResult
    func ok(_ arguments: String..., stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let outcome = try run(arguments, stdin: stdin)
        #expect(outcome.status == 0, "cloak \(arguments.joined(separator: " ")): \(outcome)", sourceLocation: sourceLocation)
        return outcome
    }

    static let tokenURL = "https://idp.example.test/realms/prod/protocol/openid-connect/token"
    static let ordersSecret = "fake-orders-secret-0000"
    static let billingSecret = "fake-billing-secret-1111"

    /// A vault with realm `prod` and clients `prod/orders` and `prod/billing`.
    static func populated() throws -> Sandbox {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "prod", "--token-url", tokenURL)
        try sandbox.ok("client", "add", "--no-verify", "prod/orders", "--client-id", "orders-svc", "--secret-stdin", stdin: ordersSecret + "\n")
        try sandbox.ok("client", "add", "--no-verify", "prod/billing", "--client-id", "billing-svc", "--auth", "post", "--secret-stdin", stdin: billingSecret)
        return sandbox
    }

    var contents: String { get throws { try RawVault.contents(of: vault) } }

    func mode(of path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
