import ArgumentParser
import CloakIdP
import Logging
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `cloak-idp`: a Keycloak-compatible identity provider on loopback for integration tests.
struct CloakIdPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cloak-idp",
        abstract: "A Keycloak-compatible identity provider for integration tests.",
        discussion: """
            Prints the base URL (e.g. http://127.0.0.1:43123) as the first line on stdout once it \
            accepts connections. Realms and clients come from --config, or from --realm/--client for \
            a single realm. Test controls live under /_cloak-idp/ (see docs/cloak-idp.md). \
            Secrets given with --client are visible in the process list: prefer --config.
            """
    )

    @Option(name: .long, help: "JSON configuration file (realms, clients, roles, lifespans).")
    var config: String?

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "TCP port; 0 picks a free one.")
    var port = 0

    @Option(help: "Realm for --client/--admin-client (default r1).")
    var realm: String?

    @Option(name: .customLong("client"), help: "A confidential service-account client: ID or ID:SECRET (repeatable).")
    var clients: [String] = []

    @Option(name: .customLong("admin-client"), help: "Like --client, with realm-management manage-clients (repeatable).")
    var adminClients: [String] = []

    @Option(help: "Access-token lifespan in seconds for --realm.")
    var tokenLifespan: Int?

    @Flag(help: "Enable the dual-secret rotation policy on --realm (Keycloak's preview feature).")
    var rotationPolicy = false

    @Option(help: "Emulate this Keycloak release's differences, e.g. 26.7 (86-character secrets) or 26.8.")
    var keycloakVersion: String?

    @Option(help: "Length of generated secrets (32 before Keycloak 26.7, 86 from 26.7).")
    var secretLength: Int?

    @Option(help: "PEM certificate (chain) for HTTPS.")
    var tlsCert: String?

    @Option(help: "PEM private key for HTTPS.")
    var tlsKey: String?

    @Option(help: "PEM RSA private key for signing, so tokens stay valid across restarts (generated if absent).")
    var signingKey: String?

    @Option(help: "Path prefix before every route, e.g. /auth as in Keycloak 16 and older.")
    var relativePath = ""

    @Flag(help: "Do not serve the /_cloak-idp/ test controls.")
    var noControls = false

    @Option(help: "Log level on stderr (trace, debug, info, notice, warning, error).")
    var logLevel = "notice"

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
    }

    func run() async throws {
        var logger = Logger(label: "cloak-idp")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .notice
        let configuration: IdPConfiguration
        let keys: KeySet?
        do {
            configuration = try makeConfiguration()
            keys = try signingKey.map { path in
                let pem = try String(decoding: Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
                return try KeySet(signing: SigningKey(pem: pem), withEncryptionKey: configuration.compatibility.encryptionKeyInJWKS)
            }
        } catch {
            FileHandleOutput.standardError("cloak-idp: \(error)\n")
            throw ExitCode(64)
        }
        let options = ServerOptions(
            host: host,
            port: port,
            tls: tlsCert.map { TLSFiles(certificatePath: $0, privateKeyPath: tlsKey!) },
            relativePath: relativePath,
            controlsEnabled: !noControls
        )
        let provider = try IdentityProvider(configuration: configuration, options: options, keys: keys, logger: logger)
        try await provider.run(handleSignals: true) { baseURL in
            FileHandleOutput.standardOutput(baseURL + "\n")
        }
    }

    /// The file's realms, then the flags' single realm merged in.
    private func makeConfiguration() throws -> IdPConfiguration {
        var configuration = try config.map(IdPConfiguration.load(path:)) ?? IdPConfiguration()
        if let keycloakVersion { configuration.compatibility = try Compatibility.keycloak(keycloakVersion) }
        if let secretLength { configuration.compatibility.secretLength = secretLength }
        let usesFlags = realm != nil || !clients.isEmpty || !adminClients.isEmpty || tokenLifespan != nil || rotationPolicy
        guard usesFlags || config == nil else { return configuration }
        let name = realm ?? "r1"
        let index = configuration.realms.firstIndex(where: { $0.name == name }) ?? {
            configuration.realms.append(RealmConfiguration(name: name))
            return configuration.realms.count - 1
        }()
        if let tokenLifespan { configuration.realms[index].accessTokenLifespan = tokenLifespan }
        if rotationPolicy { configuration.realms[index].secretRotation = SecretRotationPolicy() }
        for (specification, isAdmin) in clients.map({ ($0, false) }) + adminClients.map({ ($0, true) }) {
            let parts = specification.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            var client = ClientConfiguration(clientId: String(parts[0]), secret: parts.count > 1 ? String(parts[1]) : nil)
            if isAdmin {
                let container = name == "master" ? "master-realm" : "realm-management"
                client.clientRoles = [container: ["manage-clients", "view-clients"]]
            }
            configuration.realms[index].clients.removeAll { $0.clientId == client.clientId }
            configuration.realms[index].clients.append(client)
        }
        try configuration.validate()
        return configuration
    }
}

/// Unbuffered writes, so the base URL line reaches a reading script at once.
enum FileHandleOutput {
    static func standardOutput(_ text: String) {
        write(text, to: 1)
    }

    static func standardError(_ text: String) {
        write(text, to: 2)
    }

    private static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 { return }
            bytes = bytes.dropFirst(written)
        }
    }
}
