/// `Authorization: Basic` as Keycloak reads client credentials (`BasicAuthHelper.RFC6749`).
enum BasicCredentials: Equatable {
    /// Both halves, form-URL-decoded.
    case credentials(clientId: String, secret: String)
    /// Not a Basic header, not base64, or no colon: Keycloak treats it as "no credentials".
    case notBasic
    /// Base64 fine, but a half has a broken `%` escape: Keycloak's decoder throws.
    case undecodable

    static func parse(_ header: String) -> BasicCredentials {
        let trimmed = header.drop(while: { $0 == " " })
        guard trimmed.count > 6, trimmed.prefix(6).lowercased() == "basic " else { return .notBasic }
        guard let bytes = Base64.decode(Text.trimmed(trimmed.dropFirst(6))),
            let text = String(validating: bytes, as: UTF8.self),
            let colon = text.firstIndex(of: ":")
        else { return .notBasic }
        do {
            return .credentials(
                clientId: try FormDecoding.decode(text[..<colon]),
                secret: try FormDecoding.decode(text[text.index(after: colon)...])
            )
        } catch {
            return .undecodable
        }
    }
}
