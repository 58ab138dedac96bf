import ArgumentParser
import Cloakroom

extension RealmCommand {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a realm's URLs, CA file or admin client.",
            discussion: """
                Changing the token URL re-seals the realm's client secrets for the new URL. For a realm \
                added by --issuer, --rediscover asks the issuer for its discovery document again (as \
                does a change of issuer, CA file or http policy).

                Examples:
                  cloak realm update prod --admin-client prod/rotator
                  cloak realm update prod --rotate-every 90d --keep-previous 1d
                  cloak realm update prod --rediscover
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to change.", completion: Completion.realms) var name: String
        @OptionGroup var settings: RealmSettingOptions

        @Flag(help: "Forget the realm's CA file.") var noCaFile = false
        @Flag(help: "Forget the realm's admin client.") var noAdminClient = false
        @Flag(help: "Refuse plain http to hosts other than loopback again.") var noAllowInsecureHttp = false
        @Flag(help: "Ask the realm's issuer for its discovery document (token endpoint, JWKS) again.") var rediscover = false
        @Option(name: .customLong("keep-previous"), help: ArgumentHelp("How long a replaced secret is kept for `cloak rotate --rollback` before it is retired (e.g. 7d, 0 = not at all).", valueName: "duration"))
        var keepPrevious: String?
        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the realm's clients that have no --rotate-every of their own this often (`cloak rotate --due`, `cloak agent`), e.g. 30d.", valueName: "duration"))
        var rotateEvery: String?
        @Flag(name: .customLong("no-rotate-every"), help: "Remove the realm-wide rotation schedule.") var noRotateEvery = false

        func validate() throws {
            if rotateEvery != nil && noRotateEvery { throw ValidationError("--rotate-every and --no-rotate-every do not combine.") }
        }

        func run() throws {
            let name = try Name(name, of: "realm name")
            let keep = try keepPrevious.map { try Durations.parse($0, option: "--keep-previous") }
            let every = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
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
                try vault.setKeepPrevious(.seconds(keep), realm: name)
                realm.keepPrevious = .seconds(keep)
            }
            if every != nil || noRotateEvery {
                try vault.setRotationInterval(every.map { .seconds($0) }, realm: name)
            }
            Terminal.note("updated realm \(realm.name)")
            if let discovered { Terminal.note(RealmCommand.describe(discovered)) }
        }
    }
}
