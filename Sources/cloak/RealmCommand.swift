import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RealmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "realm",
        abstract: "Add, change, list and remove identity-provider realms.",
        subcommands: [Add.self, Update.self, List.self, Show.self, Remove.self, Sync.self]
    )
}

extension RealmCommand {
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a realm by its issuer or its token URL.",
            discussion: """
                Keycloak: --issuer https://HOST/realms/NAME, or --token-url \
                https://HOST/realms/NAME/protocol/openid-connect/token. The admin URL is derived \
                from either (https://HOST/admin/realms/NAME) unless --admin-url is given. With \
                --issuer, the token endpoint and JWKS come from the issuer's discovery document, \
                fetched now (or on the first token request if the issuer cannot be reached); the \
                client secrets stay sealed for the issuer.
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm's name in this vault.") var name: String
        @OptionGroup var settings: RealmSettingOptions

        func run() throws {
            let name = try Name(name, of: "realm name")
            guard settings.issuer != nil || settings.tokenURL != nil else {
                throw UsageError("realm add needs --issuer URL or --token-url URL.")
            }
            let wanted = try settings.apply(to: RealmSettings())
            let vault = try options.unlockVault()
            var discovered: ProviderMetadata?
            if wanted.tokenURL == nil, (try? vault.vault.realm(named: name)) == nil {
                discovered = try RealmCommand.discover(wanted, for: name, deadline: options.deadline, required: false)
            }
            let realm = try vault.addRealm(name, wanted, discovered: discovered)
            Terminal.note("added realm \(realm.name) (secrets sealed for \(realm.secretEndpoint))")
            if let discovered { Terminal.note(RealmCommand.describe(discovered)) }
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a realm's URLs, CA file or admin client.",
            discussion: """
                Changing the token URL re-seals the realm's client secrets for the new URL. For a realm \
                added by --issuer, --rediscover asks the issuer for its discovery document again (as \
                does a change of issuer, CA file or http policy).
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to change.") var name: String
        @OptionGroup var settings: RealmSettingOptions

        @Flag(help: "Forget the realm's CA file.") var noCaFile = false
        @Flag(help: "Forget the realm's admin client.") var noAdminClient = false
        @Flag(help: "Refuse plain http to hosts other than loopback again.") var noAllowInsecureHttp = false
        @Flag(help: "Ask the realm's issuer for its discovery document (token endpoint, JWKS) again.") var rediscover = false
        @Option(name: .customLong("keep-previous"), help: ArgumentHelp("How long a replaced secret is kept for `cloak rotate --rollback` before it is retired (e.g. 7d, 0 = not at all).", valueName: "duration"))
        var keepPrevious: String?

        func run() throws {
            let name = try Name(name, of: "realm name")
            let keep = try keepPrevious.map { try Durations.parse($0, option: "--keep-previous") }
            let vault = try options.unlockVault()
            let current = try vault.vault.realm(named: name)
            var wanted = try settings.apply(to: RealmSettings(current))
            if noCaFile { wanted.caFile = nil }
            if noAdminClient { wanted.adminClient = nil }
            if noAllowInsecureHttp { wanted.allowsInsecureHTTP = false }
            var discovered: ProviderMetadata?
            if wanted.tokenURL == nil, wanted.issuer != nil {
                let before = RealmSettings(current)
                if rediscover || wanted.issuer != before.issuer || wanted.caFile != before.caFile
                    || wanted.allowsInsecureHTTP != before.allowsInsecureHTTP || before.tokenURL != nil {
                    discovered = try RealmCommand.discover(wanted, for: name, deadline: options.deadline, required: rediscover)
                }
            } else if rediscover {
                throw UsageError("realm \(name) has a token URL, so there is nothing to discover; --rediscover is for realms added by --issuer.")
            }
            var realm = try vault.updateRealm(name, discovered: discovered) { $0 = wanted }
            if let keep {
                try vault.setKeepPrevious(keep, realm: name)
                realm.keepPrevious = keep
            }
            Terminal.note("updated realm \(realm.name)")
            if let discovered { Terminal.note(RealmCommand.describe(discovered)) }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the realms.")

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let now = Date()
            let overviews = try options.openVault().realmOverviews(now: now)
            if output.json {
                return Output.json(.array(overviews.map { overview in
                    guard case .fields(var fields) = JSON(overview.realm) else { return JSON(overview.realm) }
                    fields += [
                        ("oldest_secret_at", .optional(overview.oldestSecretAt.map(Output.time))),
                        ("rotations_due", .number(Int64(overview.rotationsDue))),
                        ("last_token_fetched_at", .optional(overview.lastTokenFetchedAt.map(Output.time))),
                    ]
                    return .fields(fields)
                }))
            }
            Output.table(["REALM", "CLIENTS", "OLDEST SECRET", "DUE", "LAST TOKEN", "TOKEN ENDPOINT"], overviews.map { overview in
                [overview.realm.name.rawValue, String(overview.realm.clientCount),
                 overview.oldestSecretAt.map { Durations.age(now.timeIntervalSince($0)) } ?? "-",
                 String(overview.rotationsDue),
                 overview.lastTokenFetchedAt.map { Durations.age(now.timeIntervalSince($0)) + " ago" } ?? "never",
                 overview.realm.tokenURL ?? overview.realm.discovered?.tokenEndpoint ?? "- (not yet discovered)"]
            })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one realm.")

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The realm to show.") var name: String

        func run() throws {
            let realm = try options.openVault().realm(named: try Name(name, of: "realm name"))
            if output.json { return Output.json(JSON(realm)) }
            var lines = [
                ("realm", realm.name.rawValue),
                ("issuer", realm.issuer ?? "-"),
                ("token url", realm.tokenURL ?? "- (from the issuer's discovery document)"),
            ]
            lines += RealmCommand.discoveryLines(realm)
            lines += [
                ("admin url", realm.adminURL ?? "-"),
                ("ca file", realm.caFile ?? "- (system trust store)"),
                ("admin client", realm.adminClient?.description ?? "-"),
                ("keep previous", Durations.text(realm.keepPrevious)),
                ("insecure http", realm.allowsInsecureHTTP ? "allowed" : "refused (except loopback)"),
                ("clients", String(realm.clientCount)),
                ("created", Output.time(realm.createdAt)),
                ("updated", Output.time(realm.updatedAt)),
            ]
            Output.record(lines)
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a realm (with --force, also its clients and their secrets).")

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to remove.") var name: String
        @Flag(help: "Remove the realm's clients and their sealed secrets too.") var force = false

        func run() throws {
            let name = try Name(name, of: "realm name")
            let removed = try options.unlockVault().removeRealm(name, force: force)
            Terminal.note("removed realm \(name)" + (removed > 0 ? " and its \(removed) client(s)" : ""))
        }
    }
}

extension RealmCommand {
    /// Asks the issuer of `settings` for its discovery document now. An issuer that cannot be
    /// reached is, unless `required`, a warning: the realm is stored anyway and the issuer is
    /// asked on the first token request. Any other failure (a document naming another issuer, an
    /// endpoint the realm's policy refuses, no document at all) is an error: nothing is stored.
    static func discover(_ settings: RealmSettings, for name: Name, deadline: Duration, required: Bool) throws -> ProviderMetadata? {
        do {
            return try blocking { try await settings.discoverProvider(for: name, deadline: deadline) }
        } catch let error as TokenError {
            guard case .unavailable = error, !required else { throw error }
            Terminal.note("warning: \(error). Realm \(name) is stored without its token endpoint; the issuer will be asked on the first token request.")
            return nil
        }
    }

    static func describe(_ discovered: ProviderMetadata) -> String {
        "discovered from \(discovered.issuer): token endpoint \(discovered.tokenEndpoint)" + (discovered.jwksURI.map { ", JWKS \($0)" } ?? "")
    }

    /// `realm show` lines for what a realm added by issuer learned from its discovery document.
    static func discoveryLines(_ realm: Realm) -> [(String, String)] {
        guard realm.tokenURL == nil, realm.issuer != nil else { return [] }
        guard let discovered = realm.discovered else {
            return [("token endpoint", "- (not yet discovered: asked on the first token request)")]
        }
        return [
            ("token endpoint", discovered.tokenEndpoint),
            ("jwks uri", discovered.jwksURI ?? "-"),
            ("discovered", Output.time(discovered.discoveredAt)),
        ]
    }
}

/// The realm settings `add` and `update` share.
struct RealmSettingOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The OIDC issuer, e.g. https://idp.example.com/realms/prod.", valueName: "url"))
    var issuer: String?

    @Option(name: .customLong("token-url"), help: ArgumentHelp("The token endpoint.", valueName: "url"))
    var tokenURL: String?

    @Option(name: .customLong("admin-url"), help: ArgumentHelp("The Keycloak admin API base, e.g. https://idp.example.com/admin/realms/prod.", valueName: "url"))
    var adminURL: String?

    @Option(help: ArgumentHelp("A PEM file of CA certificates to trust for this realm.", valueName: "path"))
    var caFile: String?

    @Option(help: ArgumentHelp("The client whose service account calls the admin API.", valueName: "realm/name"))
    var adminClient: String?

    @Flag(name: .customLong("allow-insecure-http"), help: "Allow plain-http URLs to hosts other than loopback.")
    var allowInsecureHTTP = false

    func apply(to settings: RealmSettings) throws -> RealmSettings {
        var settings = settings
        if let issuer { settings.issuer = issuer }
        if let tokenURL { settings.tokenURL = tokenURL }
        if let adminURL { settings.adminURL = adminURL }
        if let caFile { settings.caFile = Paths.absolute(caFile) }
        if let adminClient { settings.adminClient = try ClientRef(adminClient) }
        if allowInsecureHTTP { settings.allowsInsecureHTTP = true }
        return settings
    }
}

extension JSON {
    /// A realm in `--json` output.
    init(_ realm: Realm) {
        self = .object([
            "name": .string(realm.name.rawValue),
            "issuer": .optional(realm.issuer),
            "token_url": .optional(realm.tokenURL),
            "discovered_token_endpoint": .optional(realm.discovered?.tokenEndpoint),
            "discovered_jwks_uri": .optional(realm.discovered?.jwksURI),
            "discovered_at": .optional(realm.discovered.map { Output.time($0.discoveredAt) }),
            "admin_url": .optional(realm.adminURL),
            "ca_file": .optional(realm.caFile),
            "admin_client": .optional(realm.adminClient?.description),
            "keep_previous_seconds": .number(Int64(realm.keepPrevious)),
            "allow_insecure_http": .bool(realm.allowsInsecureHTTP),
            "clients": .optional(realm.clientCount),
            "created_at": .string(Output.time(realm.createdAt)),
            "updated_at": .string(Output.time(realm.updatedAt)),
        ])
    }
}
