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
                from either (https://HOST/admin/realms/NAME) unless --admin-url is given.
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
            let realm = try options.unlockVault().addRealm(name, try settings.apply(to: RealmSettings()))
            Terminal.note("added realm \(realm.name) (secrets sealed for \(realm.secretEndpoint))")
        }
    }

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a realm's URLs, CA file or admin client.",
            discussion: "Changing the token URL re-seals the realm's client secrets for the new URL."
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to change.") var name: String
        @OptionGroup var settings: RealmSettingOptions

        @Flag(help: "Forget the realm's CA file.") var noCaFile = false
        @Flag(help: "Forget the realm's admin client.") var noAdminClient = false
        @Flag(help: "Refuse plain http to hosts other than loopback again.") var noAllowInsecureHttp = false
        @Option(name: .customLong("keep-previous"), help: ArgumentHelp("How long a replaced secret is kept for `cloak rotate --rollback` before it is retired (e.g. 7d, 0 = not at all).", valueName: "duration"))
        var keepPrevious: String?

        func run() throws {
            let name = try Name(name, of: "realm name")
            let keep = try keepPrevious.map { try Durations.parse($0, option: "--keep-previous") }
            let vault = try options.unlockVault()
            var realm = try vault.updateRealm(name) { current in
                current = try settings.apply(to: current)
                if noCaFile { current.caFile = nil }
                if noAdminClient { current.adminClient = nil }
                if noAllowInsecureHttp { current.allowsInsecureHTTP = false }
            }
            if let keep {
                try vault.setKeepPrevious(keep, realm: name)
                realm.keepPrevious = keep
            }
            Terminal.note("updated realm \(realm.name)")
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
                 overview.realm.secretEndpoint]
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
            Output.record([
                ("realm", realm.name.rawValue),
                ("issuer", realm.issuer ?? "-"),
                ("token url", realm.tokenURL ?? "- (discovered from the issuer)"),
                ("admin url", realm.adminURL ?? "-"),
                ("ca file", realm.caFile ?? "- (system trust store)"),
                ("admin client", realm.adminClient?.description ?? "-"),
                ("keep previous", Durations.text(realm.keepPrevious)),
                ("insecure http", realm.allowsInsecureHTTP ? "allowed" : "refused (except loopback)"),
                ("clients", String(realm.clientCount)),
                ("created", Output.time(realm.createdAt)),
                ("updated", Output.time(realm.updatedAt)),
            ])
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
