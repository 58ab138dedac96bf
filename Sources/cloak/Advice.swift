import Cloakroom

/// The one place where the library's next steps (data) become the sentences `cloak` shows:
/// the library says what would help, and this says which command and flag do it.
enum Advice {
    /// `error`'s message followed by what to do next, as `cloak` prints it.
    static func explain(_ error: any CloakroomError) -> String {
        with(error.description, error.next)
    }

    /// `text` followed by the sentences of `next`.
    static func with(_ text: String, _ next: [NextStep]) -> String {
        next.isEmpty ? text : ([text] + next.map(sentence)).joined(separator: " ")
    }

    /// `error` as `cloak` prints it, whatever it is.
    static func explain(_ error: any Error) -> String {
        (error as? any CloakroomError).map(explain) ?? "\(error)"
    }

    static func sentence(_ step: NextStep) -> String {
        switch step {
        case .createVault: "Create one with `cloak init`, or point --vault (CLOAK_VAULT) at yours."
        case .checkVaultPath: "Check --vault (CLOAK_VAULT)."
        case .chooseVaultPath: "Choose another path with --vault."
        case .buildWithPostgreSQL: "Build cloak with the PostgreSQL trait for team vaults: swift build -c release --traits PostgreSQL --product cloak."
        case .giveVaultKey: "Give its key file (--key-file, CLOAK_KEY_FILE or ~/.config/cloakroom/vault.key), its key (--key-fd N) or its passphrase (a prompt on a terminal, or --passphrase-fd N)."
        case .checkKeyFilePath: "Check --key-file / CLOAK_KEY_FILE."
        case .lowerKeyDerivationCost: "Choose a lower --kdf cost, or free memory."
        case .addKeyslot: "Add another keyslot with `cloak keyslot add` first."
        case .listKeyslots: "`cloak keyslot list` shows the keyslots."
        case .dropKeyslots(let ids): "To remove them with the rekey: \(ids.map { "--drop-slot \($0)" }.joined(separator: " "))."
        case .runCheckup: "`cloak doctor` shows what is affected."
        case .force(let effect): "To \(effect), pass --force."
        case .listRealms: "`cloak realm list` shows the realms."
        case .showRealm(let realm): "Check `cloak realm show \(realm)`."
        case .updateRealm(let realm, nil): "Change its settings with `cloak realm update \(realm) …`."
        case .updateRealm(let realm, .adminClient?): "Name its admin client with `cloak realm update \(realm) --admin-client REALM/NAME`."
        case .updateRealm(let realm, .adminURL?): "Give it with `cloak realm update \(realm) --admin-url https://HOST/admin/realms/\(realm)`."
        case .updateRealm(let realm, .tokenURL?): "Give the token endpoint with `cloak realm update \(realm) --token-url URL`."
        case .updateRealm(let realm, .caFile?): "If realm \(realm) uses a private CA, trust it with `cloak realm update \(realm) --ca-file CA.pem`."
        case .updateRealm(let realm, .rediscover?): "`cloak realm update \(realm) --rediscover` asks the issuer now."
        case .listClients(let realm?): "`cloak client list --realm \(realm)` shows its clients."
        case .listClients(nil): "`cloak client list` shows the clients."
        case .showClient(let client): "Check its client_id and secret version with `cloak client show \(client)`."
        case .updateClient(let client): "`cloak client update \(client)` changes its secret (--secret-stdin), client_id, auth, scopes or audience in place."
        case .syncRealm(let realm): "If its secret was rotated elsewhere (another vault, or the one a bundle came from), `cloak realm sync \(realm)` takes the IdP's secret over."
        case .allowClientCredentialsGrant(let client): "Allow the client-credentials grant for \(client) at the IdP (Keycloak: turn on the client's \"Service accounts roles\"); its secret was not the problem."
        case .reauthenticate(let client): "Accept it with `cloak client update \(client) --reauthenticate`."
        case .reauthenticateRealm(let realm): "(`cloak client update \(realm) --reauthenticate` accepts every such client of the realm.)"
        case .storeSecretAgain(let client): "To store it again: `cloak client remove \(client)`, then `cloak client add \(client)` with its secret."
        case .addClient: "Add it with `cloak client add`."
        case .resumeRotation(let client?): "Settle it with `cloak rotate --resume \(client)`."
        case .resumeRotation(nil): "Settle them with `cloak rotate --resume`."
        case .showRotationStatus: "`cloak rotate --status` shows them."
        case .letIdPGenerateSecret: "If the realm has Keycloak's secret-rotation policy, try `cloak rotate --server-generated`."
        case .chooseConflictPolicy(let otherThanTheOneGiven): otherThanTheOneGiven ? "Choose another --on-conflict." : "Choose --on-conflict skip, overwrite or rename."
        case .importAs(.realm): "Name the realm with --as REALM."
        case .importAs(.client): "Name it with --as REALM/NAME."
        case .importAs(.separately): "Import them separately, each with its own --as."
        case .skipVerification: "Or import it unchecked with --no-verify."
        case .giveBundlePassphrase: "Give the passphrase (a prompt on a terminal, or --bundle-passphrase-fd N)."
        case .giveBundleKeyFile: "Give it with --bundle-key-file PATH."
        case .allowInsecureHTTP: "If this network is trusted, pass --allow-insecure-http."
        case .useIssuer(let issuer): "If that is the same server, use `--issuer \(issuer)`."
        }
    }
}
