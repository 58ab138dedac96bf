import AsyncHTTPClient
import CloakIdP
import Foundation
import NIOHTTP1
import NIOSSL
import Testing

@Suite("HTTPS with a throwaway self-signed certificate")
struct HTTPSTests {
    /// A certificate for 127.0.0.1 made by the openssl CLI in a temporary directory.
    struct Certificate {
        let directory: URL
        var certificatePath: String { directory.appendingPathComponent("cert.pem").path }
        var keyPath: String { directory.appendingPathComponent("key.pem").path }

        static func make() throws -> Certificate {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("cloak-idp-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let certificate = Certificate(directory: directory)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                "-keyout", certificate.keyPath, "-out", certificate.certificatePath,
            ]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw HarnessError("openssl failed with \(process.terminationStatus)") }
            return certificate
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    @Test func tokenAndDiscoveryOverHTTPS() async throws {
        let certificate = try Certificate.make()
        defer { certificate.remove() }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate.certificatePath))
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(tlsConfiguration: tls))
        do {
            let options = ServerOptions(tls: TLSFiles(certificatePath: certificate.certificatePath, privateKeyPath: certificate.keyPath))
            var configuration = Fixtures.configuration()
            // Prove the request really arrived over TLS: this realm refuses plain HTTP.
            configuration.realms[1].sslRequired = .all
            try await withIdP(configuration, options: options, http: client) { harness in
                #expect(harness.base.hasPrefix("https://127.0.0.1:"))
                let reply = try await harness.token("broker-svc", Fixtures.brokerSecret)
                #expect(reply.status == 200)
                #expect(reply.json?["access_token"]?.stringValue.flatMap(claims(of:))?["iss"] == .string(harness.base + "/realms/r1"))
                let discovery = try await harness.send(.GET, "/realms/r1/.well-known/openid-configuration")
                #expect(discovery.json?["token_endpoint"]?.stringValue?.hasPrefix("https://127.0.0.1:") == true)
                let admin = try await harness.admin(.GET, "/admin/realms/r1/clients?clientId=broker-svc")
                #expect(admin.status == 200)
            }
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
