import ArgumentParser
import Cloakroom

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

                Examples:
                  cloak realm add prod --issuer https://sso.example.com/realms/prod
                  cloak realm add prod --token-url "$TOKEN_URL" --ca-file corp-ca.pem
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
}
