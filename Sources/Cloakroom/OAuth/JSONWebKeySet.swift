internal import Crypto
internal import _CryptoExtras

/// The JWS algorithms a token may be checked with (RFC 7518 §3). `none` and the HMAC family are
/// absent on purpose: a realm's public JWKS can never vouch for them.
enum SignatureAlgorithm: String, Sendable, CaseIterable {
    case rs256 = "RS256", rs384 = "RS384", rs512 = "RS512"
    case ps256 = "PS256", ps384 = "PS384", ps512 = "PS512"
    case es256 = "ES256"

    /// Whether `signature` over `input` is valid under `key`; false for a key of the wrong kind.
    func isValid(_ signature: [UInt8], over input: [UInt8], with key: JSONWebKey.Material) -> Bool {
        switch (self, key) {
        case (.es256, .p256(let key)):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(signature, for: SHA256.hash(data: input))
        case (.es256, .rsa), (_, .p256):
            return false
        case (_, .rsa(let key)):
            let signature = _RSA.Signing.RSASignature(rawRepresentation: signature)
            let padding: _RSA.Signing.Padding = rawValue.hasPrefix("PS") ? .PSS : .insecurePKCS1v1_5
            switch self {
            case .rs256, .ps256: return key.isValidSignature(signature, for: SHA256.hash(data: input), padding: padding)
            case .rs384, .ps384: return key.isValidSignature(signature, for: SHA384.hash(data: input), padding: padding)
            case .rs512, .ps512: return key.isValidSignature(signature, for: SHA512.hash(data: input), padding: padding)
            case .es256: return false
            }
        }
    }

    /// The key type (`kty`) this algorithm needs.
    var keyType: String { self == .es256 ? "EC" : "RSA" }
}

/// One public key of a JWKS (RFC 7517) that can verify signatures.
struct JSONWebKey: Sendable {
    enum Material: Sendable {
        case rsa(_RSA.Signing.PublicKey)
        case p256(P256.Signing.PublicKey)
    }

    var kid: String?
    /// The algorithm the key is published for, if the set says.
    var algorithm: String?
    var material: Material

    /// `nil` for keys that must not or cannot verify signatures: `use` other than `sig` (Keycloak
    /// publishes an `RSA-OAEP` encryption key beside its signing key), unknown key types, RSA
    /// keys under 2048 bits, curves other than P-256.
    init?(_ object: [String: JSONValue]) {
        if let use = object["use"]?.string, use != "sig" { return nil }
        kid = object["kid"]?.string
        algorithm = object["alg"]?.string
        switch object["kty"]?.string {
        case "RSA":
            guard let n = object["n"]?.string.flatMap({ Base64.decode($0[...]) }),
                  let e = object["e"]?.string.flatMap({ Base64.decode($0[...]) }),
                  let key = try? _RSA.Signing.PublicKey(n: n, e: e)
            else { return nil }
            material = .rsa(key)
        case "EC":
            guard object["crv"]?.string == "P-256",
                  let x = object["x"]?.string.flatMap({ Base64.decode($0[...]) }), x.count == 32,
                  let y = object["y"]?.string.flatMap({ Base64.decode($0[...]) }), y.count == 32,
                  let key = try? P256.Signing.PublicKey(rawRepresentation: x + y)
            else { return nil }
            material = .p256(key)
        default:
            return nil
        }
    }
}

/// A realm's signing keys, as published at its `jwks_uri`.
struct JSONWebKeySet: Sendable {
    var keys: [JSONWebKey]

    /// - Throws: `TokenError.malformedResponse` when the document has no `keys` array.
    init(_ document: [String: JSONValue], url: String) throws(TokenError) {
        guard case .array(let entries)? = document["keys"] else {
            throw .malformedResponse("the JWKS at \(url) has no \"keys\" array; is that the realm's jwks_uri?")
        }
        keys = entries.compactMap { entry in
            if case .object(let object) = entry { JSONWebKey(object) } else { nil }
        }
    }

    /// The key a token names: by `kid` (key order is not stable, and Keycloak publishes several),
    /// of the type its algorithm needs, and not published for another algorithm. Without a
    /// `kid`, only a set with exactly one such key answers.
    func key(id kid: String?, for algorithm: SignatureAlgorithm) -> JSONWebKey? {
        let candidates = keys.filter { key in
            let type: String = switch key.material { case .rsa: "RSA"; case .p256: "EC" }
            return type == algorithm.keyType && (key.algorithm == nil || key.algorithm == algorithm.rawValue)
        }
        guard let kid else { return candidates.count == 1 ? candidates[0] : nil }
        return candidates.first { $0.kid == kid }
    }
}
