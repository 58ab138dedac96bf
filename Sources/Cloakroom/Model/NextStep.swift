/// What a person can do about a failure, as data. The library says *what* would help; the
/// program in front of it (`cloak`, an agent's problem document, a service's own UI) says *how*,
/// in its own words: no message the library writes names a command or a flag.
public enum NextStep: Sendable, Hashable {
    // The vault and its keys.
    /// There is no vault where one was looked for: create one, or point at the right path.
    case createVault
    /// The path given as the vault is something else: check it.
    case checkVaultPath
    /// The path given for a new vault cannot be used: choose another.
    case chooseVaultPath
    /// The vault is on a database server this build cannot reach: build Cloakroom with the
    /// PostgreSQL trait.
    case buildWithPostgreSQL
    /// The vault is locked: give its key file or passphrase.
    case giveVaultKey
    /// The key file named does not exist: check where it was named.
    case checkKeyFilePath
    /// Argon2id could not get its memory: choose a lower cost, or free memory.
    case lowerKeyDerivationCost
    /// The vault's last keyslot cannot go: add another first.
    case addKeyslot
    /// No such keyslot: list them.
    case listKeyslots
    /// Keyslots a rekey cannot re-wrap: remove them explicitly.
    case dropKeyslots([Int64])
    /// Something is damaged or unverified: a full check shows what is affected.
    case runCheckup
    /// The operation refuses by default, and can be forced; `effect` is what forcing does
    /// ("replace it", "remove them and their secrets too").
    case force(effect: String)

    // Realms.
    /// No such realm: list them.
    case listRealms
    /// A realm's stored settings are in question: show them.
    case showRealm(Name)
    /// A realm's settings should be set (again), or one setting given.
    case updateRealm(Name, RealmSetting? = nil)

    // Clients.
    /// No such client: list the realm's (or the vault's) clients.
    case listClients(realm: Name?)
    /// A client's stored settings are in question: show them.
    case showClient(ClientRef)
    /// A client's row was changed outside Cloakroom (or predates row tags): accept it as it is.
    case reauthenticate(ClientRef)
    /// The same for every untagged client of a realm at once.
    case reauthenticateRealm(Name)
    /// A client's stored secret or settings may be wrong (the IdP refused them), or a client of
    /// that name exists: change it in place.
    case updateClient(ClientRef)
    /// A client's secret cannot be used: remove the client and add it again with its secret.
    case storeSecretAgain(ClientRef)
    /// A client with no vault name: add it by hand.
    case addClient
    /// A secret the IdP no longer takes may have been rotated elsewhere (another vault, or the
    /// one a bundle came from): take the IdP's secrets over.
    case syncRealm(Name)
    /// The IdP does not let the client use the client-credentials grant: allow it there.
    case allowClientCredentialsGrant(ClientRef)

    // Rotation.
    /// An interrupted rotation: settle it (all of them when `client` is `nil`).
    case resumeRotation(ClientRef?)
    /// The replaced secrets that are kept: show rotation status.
    case showRotationStatus
    /// The IdP refused a secret Cloakroom generated: let the IdP generate it (Keycloak's
    /// secret-rotation policy wants its own).
    case letIdPGenerateSecret

    // Import and export.
    /// What to do with a client that exists already: choose a conflict policy
    /// (`otherThanTheOneGiven`: one was given, and another is needed).
    case chooseConflictPolicy(otherThanTheOneGiven: Bool)
    /// Name what is imported explicitly: only its realm, or realm and client name.
    case importAs(ImportName)
    /// Import without asking the IdP whether the credential works.
    case skipVerification
    /// The bundle is sealed with a passphrase: give it.
    case giveBundlePassphrase
    /// The bundle is sealed with a key file: give it.
    case giveBundleKeyFile

    // Endpoints.
    /// Plain http was refused: allow it explicitly, if the network is trusted.
    case allowInsecureHTTP
    /// The discovery document names another spelling of the issuer: use that one.
    case useIssuer(String)
}

extension NextStep {
    /// A realm setting a `NextStep.updateRealm` asks for.
    public enum RealmSetting: Sendable, Hashable {
        /// The client whose service account rotates the realm's secrets.
        case adminClient
        /// The base URL of the realm's admin API.
        case adminURL
        /// The realm's token endpoint.
        case tokenURL
        /// The CA certificate a private CA's endpoints are trusted by.
        case caFile
        /// Ask the issuer's discovery document again.
        case rediscover
    }

    /// How much of a name an import is told.
    public enum ImportName: Sendable, Hashable {
        /// Only the realm; each client is named after its prefix.
        case realm
        /// The realm and the client's name.
        case client
        /// Each credential on its own, with its own name.
        case separately
    }
}
