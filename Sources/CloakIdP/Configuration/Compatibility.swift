/// Behaviours that differ between Keycloak releases 22–26.x, so one emulator can stand in for each.
///
/// Defaults follow Keycloak 26.0–26.6; ``keycloak(_:)`` picks the switches of a given release.
public struct Compatibility: Sendable, Equatable {
    /// Length of generated client secrets: 32 up to 26.6, 86 from 26.7.0 ([ISSUE #49793]).
    public var secretLength: Int = 32
    /// Prefix access-token `jti` values with `trtcc:` (26.2+, [PR #37634]).
    public var jtiPrefix: Bool = true
    /// Say `Client secret not provided in request` for a confidential client sent without a
    /// secret, as servers before 26 were reported to do; otherwise the 26.x wording.
    public var legacyMissingSecretDescription: Bool = false
    /// Answer a missing role with `{"error":"unknown_error"}` (21.x) instead of
    /// `{"error":"HTTP 403 Forbidden"}` (26.7.1).
    public var legacyForbiddenBody: Bool = false
    /// Reading a secret (current or rotated) needs manage-clients, not view-clients (26.8+).
    public var secretReadRequiresManage: Bool = false
    /// View-only callers see `**********` instead of the secret in representations (26.8+).
    public var maskSecretsForViewers: Bool = false
    /// Publish an `RSA-OAEP`/`enc` key in the JWKS besides the signing key, as 26.x does, so a
    /// relying party that takes the first key instead of selecting by `kid` fails here too.
    public var encryptionKeyInJWKS: Bool = true

    /// The defaults (26.0–26.6 behaviour).
    public init() {}

    /// The switches of a Keycloak release given as `major` or `major.minor`, e.g. `"26.7"`.
    /// - Throws: ``ConfigurationError`` for text that is not a version.
    public static func keycloak(_ version: String) throws -> Compatibility {
        let parts = version.split(separator: ".").map { Int($0) }
        guard let major = parts.first ?? nil, parts.allSatisfy({ $0 != nil }) else {
            throw ConfigurationError("keycloakVersion must look like 26 or 26.7, not '\(version)'")
        }
        let minor = parts.count > 1 ? parts[1]! : 0
        let release = major * 100 + minor
        var compatibility = Compatibility()
        compatibility.jtiPrefix = release >= 2602
        compatibility.secretLength = release >= 2607 ? 86 : 32
        compatibility.secretReadRequiresManage = release >= 2608
        compatibility.maskSecretsForViewers = release >= 2608
        compatibility.encryptionKeyInJWKS = major >= 26
        compatibility.legacyForbiddenBody = release < 2200
        compatibility.legacyMissingSecretDescription = release < 2100
        return compatibility
    }
}
