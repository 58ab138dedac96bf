public import Foundation

/// A tiny HTTP server on 127.0.0.1 that serves files from a temporary directory (Python's
/// `http.server`): an issuer whose discovery document a test writes, and rewrites, itself.
/// It is killed (by its PID) when released, and stops by itself after two minutes in any case.
public final class StaticServer: @unchecked Sendable {
    let process = Process()
    let directory = TemporaryDirectory()
    public let baseURL: String

    /// Serves until its deadline; prints its base URL once it listens. Signals are unblocked
    /// first: a child of the test process inherits a mask that blocks SIGTERM.
    static let script = """
        import functools, http.server, signal, sys, time
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        class Quiet(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args): pass
        class Server(http.server.HTTPServer):
            allow_reuse_address = True
        server = Server(("127.0.0.1", int(sys.argv[2])), functools.partial(Quiet, directory=sys.argv[1]))
        print("http://127.0.0.1:%d" % server.server_address[1], flush=True)
        server.timeout = 0.5
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            server.handle_request()
        """

    /// - Parameter port: 0 for a free port.
    public init(port: Int = 0) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, directory.path, String(port)]
        baseURL = try process.runReadingFirstLine()
        guard baseURL.hasPrefix("http://127.0.0.1:") else {
            kill(process.processIdentifier, SIGKILL)
            throw RawVault.Failure(description: "the test's HTTP server (python3) did not start")
        }
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    public var port: Int { Int(baseURL.split(separator: ":").last ?? "") ?? 0 }

    /// Serves `body` at `path` (e.g. `/realms/r1/.well-known/openid-configuration`) from now on.
    public func serve(_ path: String, _ body: String) throws {
        let file = directory.path + path
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try body.write(toFile: file, atomically: true, encoding: .utf8)
    }

    /// A discovery document for issuer `baseURL + "/realms/" + realm`, naming `tokenEndpoint`.
    public func serveDiscovery(realm: String = "r1", issuer: String? = nil, tokenEndpoint: String, jwksURI: String? = nil) throws {
        let issuer = issuer ?? baseURL + "/realms/" + realm
        var fields = ["\"issuer\":\"\(issuer)\"", "\"token_endpoint\":\"\(tokenEndpoint)\""]
        if let jwksURI { fields.append("\"jwks_uri\":\"\(jwksURI)\"") }
        try serve("/realms/\(realm)/.well-known/openid-configuration", "{" + fields.joined(separator: ",") + "}")
    }
}
