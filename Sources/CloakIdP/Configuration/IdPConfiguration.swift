#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Everything the emulator serves: realms, clients and version switches.
///
/// A `master` realm always exists, as in Keycloak; the file may define it to add admin clients.
public struct IdPConfiguration: Sendable, Equatable {
    /// The realms, in file order.
    public var realms: [RealmConfiguration]
    /// Version-dependent behaviours.
    public var compatibility: Compatibility

    /// A configuration with the given realms.
    public init(realms: [RealmConfiguration] = [], compatibility: Compatibility = Compatibility()) {
        self.realms = realms
        self.compatibility = compatibility
    }

    /// Reads a JSON configuration file (see `docs/cloak-idp.md` for the format).
    /// - Throws: ``ConfigurationError`` naming the file and the offending setting.
    public static func load(path: String) throws -> IdPConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError("cannot read configuration file \(path): \(error)")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(data)
        } catch {
            throw ConfigurationError("configuration file \(path) is not valid JSON (\(error))")
        }
        return try IdPConfiguration(json: document)
    }

    /// Builds a configuration from a parsed document.
    /// - Throws: ``ConfigurationError`` for unknown keys, wrong types and duplicate names.
    public init(json: JSONValue) throws {
        let root = try Fields(json, at: "configuration")
        compatibility = Compatibility()
        if let version = try root.string("keycloakVersion") {
            compatibility = try Compatibility.keycloak(version)
        }
        if let switches = try root.object("compatibility") {
            let fields = try Fields(.object(switches), at: "compatibility")
            if let value = try fields.int("secretLength") {
                guard value > 0, value <= 255 else { throw ConfigurationError("compatibility.secretLength must be 1…255") }
                compatibility.secretLength = value
            }
            if let value = try fields.bool("jtiPrefix") { compatibility.jtiPrefix = value }
            if let value = try fields.bool("legacyMissingSecretDescription") { compatibility.legacyMissingSecretDescription = value }
            if let value = try fields.bool("legacyForbiddenBody") { compatibility.legacyForbiddenBody = value }
            if let value = try fields.bool("secretReadRequiresManage") { compatibility.secretReadRequiresManage = value }
            if let value = try fields.bool("maskSecretsForViewers") { compatibility.maskSecretsForViewers = value }
            if let value = try fields.bool("encryptionKeyInJWKS") { compatibility.encryptionKeyInJWKS = value }
            try fields.rejectUnknown()
        }
        realms = try (root.array("realms") ?? []).enumerated().map { index, value in
            try RealmConfiguration(json: value, at: "realms[\(index)]")
        }
        try root.rejectUnknown()
        try validate()
    }

    /// Checks names are unique; called by every initializer that takes outside input.
    public func validate() throws {
        var realmNames = Set<String>()
        for realm in realms {
            guard !realm.name.isEmpty, !realm.name.contains("/") else {
                throw ConfigurationError("realm name '\(realm.name)' must be non-empty and contain no '/'")
            }
            guard realmNames.insert(realm.name).inserted else {
                throw ConfigurationError("realm '\(realm.name)' is defined twice")
            }
            var clientIds = Set<String>()
            var ids = Set<String>()
            for client in realm.clients {
                guard !client.clientId.isEmpty else { throw ConfigurationError("realm '\(realm.name)' has a client with an empty clientId") }
                guard clientIds.insert(client.clientId).inserted else {
                    throw ConfigurationError("client '\(client.clientId)' is defined twice in realm '\(realm.name)'")
                }
                if let id = client.id, !ids.insert(id).inserted {
                    throw ConfigurationError("client id '\(id)' is used twice in realm '\(realm.name)'")
                }
            }
        }
    }
}

extension RealmConfiguration {
    init(json: JSONValue, at path: String) throws {
        let fields = try Fields(json, at: path)
        guard let name = try fields.string("realm") else { throw ConfigurationError("\(path).realm (the realm name) is required") }
        self.init(name: name)
        if let value = try fields.bool("enabled") { enabled = value }
        if let value = try fields.bool("builtInClients") { builtInClients = value }
        if let value = try fields.int("accessTokenLifespan") {
            guard value > 0 else { throw ConfigurationError("\(path).accessTokenLifespan must be positive") }
            accessTokenLifespan = value
        }
        if let value = try fields.string("sslRequired") {
            guard let mode = SSLRequired(rawValue: value) else {
                throw ConfigurationError("\(path).sslRequired must be none, external or all")
            }
            sslRequired = mode
        }
        if let rotation = try fields.object("secretRotation") {
            let rotationFields = try Fields(.object(rotation), at: "\(path).secretRotation")
            var policy = SecretRotationPolicy()
            if let value = try rotationFields.int("expirationPeriod") { policy.expirationPeriod = value }
            if let value = try rotationFields.int("rotatedExpirationPeriod") { policy.rotatedExpirationPeriod = value }
            try rotationFields.rejectUnknown()
            secretRotation = policy
        }
        clients = try (fields.array("clients") ?? []).enumerated().map { index, value in
            try ClientConfiguration(json: value, at: "\(path).clients[\(index)]")
        }
        try fields.rejectUnknown()
    }
}

extension ClientConfiguration {
    init(json: JSONValue, at path: String) throws {
        let fields = try Fields(json, at: path)
        guard let clientId = try fields.string("clientId") else { throw ConfigurationError("\(path).clientId is required") }
        self.init(clientId: clientId, secret: try fields.string("secret"))
        id = try fields.string("id")
        name = try fields.string("name")
        if let value = try fields.bool("enabled") { enabled = value }
        if let value = try fields.bool("publicClient") { publicClient = value }
        if let value = try fields.bool("bearerOnly") { bearerOnly = value }
        if let value = try fields.bool("serviceAccountsEnabled") { serviceAccountsEnabled = value }
        if let value = try fields.bool("serviceAccountUserEnabled") { serviceAccountUserEnabled = value }
        if let value = try fields.strings("defaultClientScopes") { defaultClientScopes = value }
        if let value = try fields.strings("optionalClientScopes") { optionalClientScopes = value }
        if let object = try fields.object("attributes") {
            for member in object.members {
                guard let value = member.value.stringValue else {
                    throw ConfigurationError("\(path).attributes.\(member.key) must be a string")
                }
                attributes[member.key] = value
            }
        }
        if let roles = try fields.object("serviceAccountRoles") {
            let roleFields = try Fields(.object(roles), at: "\(path).serviceAccountRoles")
            realmRoles = try roleFields.strings("realm") ?? []
            if let byClient = try roleFields.object("clients") {
                for member in byClient.members {
                    guard let names = member.value.arrayValue?.compactMap(\.stringValue),
                        names.count == member.value.arrayValue?.count
                    else { throw ConfigurationError("\(path).serviceAccountRoles.clients.\(member.key) must be an array of strings") }
                    clientRoles[member.key] = names
                }
            }
            try roleFields.rejectUnknown()
        }
        try fields.rejectUnknown()
    }
}

/// Typed access to one object of the configuration, remembering which keys were read so that a
/// misspelt key is an error instead of a silently ignored setting.
private final class Fields {
    let object: JSONObject
    let path: String
    var read = Set<String>()

    init(_ value: JSONValue, at path: String) throws {
        guard let object = value.objectValue else { throw ConfigurationError("\(path) must be a JSON object") }
        self.object = object
        self.path = path
    }

    private func value(_ key: String) -> JSONValue? {
        read.insert(key)
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws -> String? {
        guard let value = value(key) else { return nil }
        guard let string = value.stringValue else { throw ConfigurationError("\(path).\(key) must be a string") }
        return string
    }

    func bool(_ key: String) throws -> Bool? {
        guard let value = value(key) else { return nil }
        guard let bool = value.boolValue else { throw ConfigurationError("\(path).\(key) must be true or false") }
        return bool
    }

    func int(_ key: String) throws -> Int? {
        guard let value = value(key) else { return nil }
        guard let int = value.intValue else { throw ConfigurationError("\(path).\(key) must be an integer") }
        return int
    }

    func object(_ key: String) throws -> JSONObject? {
        guard let value = value(key) else { return nil }
        guard let object = value.objectValue else { throw ConfigurationError("\(path).\(key) must be an object") }
        return object
    }

    func array(_ key: String) throws -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard let array = value.arrayValue else { throw ConfigurationError("\(path).\(key) must be an array") }
        return array
    }

    func strings(_ key: String) throws -> [String]? {
        guard let array = try array(key) else { return nil }
        let strings = array.compactMap(\.stringValue)
        guard strings.count == array.count else { throw ConfigurationError("\(path).\(key) must be an array of strings") }
        return strings
    }

    func rejectUnknown() throws {
        if let unknown = object.keys.first(where: { !read.contains($0) }) {
            throw ConfigurationError("\(path) has an unknown key '\(unknown)'")
        }
    }
}
