public import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A real `cloak-idp` process on 127.0.0.1, started for one test and stopped (by its PID) when
/// released. Its realm `r1` has the clients the token tests use; secrets are obviously fake.
public final class IdP: @unchecked Sendable {
    let process = Process()
    public let baseURL: String
    let directory: TemporaryDirectory

    /// `cloak-idp` next to the test bundle in .build/<config>/ (or `$CLOAK_IDP_BIN`).
    public static var binary: String {
        ProcessInfo.processInfo.environment["CLOAK_IDP_BIN"] ?? productsDirectory + "/cloak-idp"
    }

    /// Where `swift build` put the products this test bundle was built with.
    public static var productsDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }

    public static let basicSecret = "fake-S3cr3t+/%&=AAAA"  // every character Basic auth must encode
    public static let postSecret = "fake-post-secret-0000"
    /// A service account that may read the admin API's client list: a protected API for tests.
    public static let viewerSecret = "fake-viewer-secret-0000"

    /// - Parameters:
    ///   - port: 0 for a free port; a given one to stand in for an IdP that was stopped.
    ///   - configuration: cloak-idp's JSON configuration; the token tests' realm `r1` if nil.
    public init(tls: (cert: String, key: String)? = nil, lifespan: Int = 300, port: Int = 0, configuration: String? = nil) throws {
        directory = TemporaryDirectory()
        let config = directory.file("idp.json")
        try (configuration ?? """
            {"realms":[{"realm":"r1","accessTokenLifespan":\(lifespan),"clients":[
              {"clientId":"broker-svc","secret":"\(Self.basicSecret)"},
              {"clientId":"post-svc","secret":"\(Self.postSecret)"},
              {"clientId":"kc-viewer","secret":"\(Self.viewerSecret)",
               "serviceAccountRoles":{"clients":{"realm-management":["view-clients"]}}}]}]}
            """).write(toFile: config, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--config", config, "--port", String(port)] + (tls.map { ["--tls-cert", $0.cert, "--tls-key", $0.key] } ?? [])
        // The first line is the base URL, printed once it accepts connections.
        baseURL = try process.runReadingFirstLine()
        guard baseURL.hasPrefix("http") else {
            process.terminate()
            throw RawVault.Failure(description: "cloak-idp did not start (\(Self.binary))")
        }
    }

    deinit { stop() }

    /// Stops it now (by its PID), as an IdP that went away.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }

    public var tokenURL: String { baseURL + "/realms/r1/protocol/openid-connect/token" }
    public var issuer: String { baseURL + "/realms/r1" }
    public var jwksURL: String { baseURL + "/realms/r1/protocol/openid-connect/certs" }

    /// Requests the IdP has answered on `route` (`token`, `discovery`, `certs`) since the last reset.
    public func requests(_ route: String) async throws -> Int {
        let stats = try await control("GET", "stats")
        return (stats["by_route"] as? [String: Any])?[route] as? Int ?? 0
    }

    /// Requests that have arrived on `route`, answered or not (one held by a `latency` fault counts).
    public func arrivals(_ route: String) async throws -> Int {
        let stats = try await control("GET", "stats")
        return (stats["arrived_by_route"] as? [String: Any])?[route] as? Int ?? 0
    }

    /// Calls a test control under `/_cloak-idp/`.
    @discardableResult
    public func control(_ method: String, _ path: String, _ json: String? = nil) async throws -> [String: Any] {
        var request = URLRequest(url: URL(string: baseURL + "/_cloak-idp/" + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = Data(json.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, _) = try await URLSession.shared.data(for: request)
        return (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    /// Token requests the IdP has answered since the last reset.
    public func tokenRequests() async throws -> Int {
        let stats = try await control("GET", "stats")
        return (stats["by_route"] as? [String: Any])?["token"] as? Int ?? 0
    }

    public func fault(_ json: String) async throws { try await control("POST", "faults", json) }
}

