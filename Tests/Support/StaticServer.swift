public import Foundation

/// A tiny HTTP server on 127.0.0.1 that serves files from a temporary directory (Python's
/// `http.server`): an issuer whose discovery document a test writes, and rewrites, itself.
/// It is killed (by its PID) when released, and stops by itself after two minutes in any case.
public final class StaticServer: @unchecked Sendable {
    let directory = TemporaryDirectory()
    let server: PythonServer

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
        server = try PythonServer(script: Self.script, arguments: [directory.path, String(port)], what: "the test's HTTP server")
    }

    public var baseURL: String { server.url }

    public func stop() { server.stop() }

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

/// A server on 127.0.0.1 written by a test in Python: run with `arguments`, its URL read from
/// the first line it prints once it listens, killed by its PID when released or stopped (each
/// script also stops by itself: a bounded request loop and a deadline).
public final class PythonServer: @unchecked Sendable {
    let process = Process()
    public let url: String

    /// - Parameter what: the server, for the error when it does not start.
    public init(script: String, arguments: [String], what: String) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        url = try process.runReadingFirstLine()
        guard url.hasPrefix("http://127.0.0.1:") || url.hasPrefix("https://127.0.0.1:") else {
            stop()
            throw RawVault.Failure(description: "\(what) (python3) did not start")
        }
    }

    deinit { stop() }

    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
