/// Which secrets authenticate a client, and what a new secret does to the old one (§4.4–4.6).
enum SecretRotation {
    /// The primary secret, or the rotated one while it is unexpired; and nothing once the
    /// primary's `client.secret.expiration.time` has passed (Keycloak checks that last, so an
    /// expired primary also blocks the rotated secret).
    static func accepts(_ candidate: String, for client: ClientRecord, now: Int) -> Bool {
        var accepted = client.secret.map { constantTimeEquals($0, candidate) } ?? false
        if !accepted, let rotated = client.attributes[SecretAttribute.rotated] {
            let expiry = client.attributes[SecretAttribute.rotatedExpirationTime].flatMap { Int($0) }
            accepted = constantTimeEquals(rotated, candidate) && (expiry.map { now < $0 } ?? true)
        }
        if accepted, let expiry = client.attributes[SecretAttribute.expirationTime].flatMap({ Int($0) }), now >= expiry {
            return false
        }
        return accepted
    }

    /// Installs `newSecret`. Without a policy the rotation attributes are dropped, so the old
    /// secret stops working at once; with one, the old secret becomes the rotated secret.
    static func install(
        _ newSecret: String,
        in client: inout ClientRecord,
        policy: SecretRotationPolicy?,
        now: Int,
        setsCreationTime: Bool
    ) {
        let previous = client.secret
        let previousCreation = client.attributes[SecretAttribute.creationTime]
        for key in SecretAttribute.rotationKeys { client.attributes[key] = nil }
        client.secret = newSecret
        if setsCreationTime { client.attributes[SecretAttribute.creationTime] = String(now) }
        guard let policy else { return }
        client.attributes[SecretAttribute.expirationTime] = String(now + policy.expirationPeriod)
        if let previous, previous != newSecret, policy.rotatedExpirationPeriod > 0 {
            client.attributes[SecretAttribute.rotated] = previous
            client.attributes[SecretAttribute.rotatedCreationTime] = previousCreation ?? String(now)
            client.attributes[SecretAttribute.rotatedExpirationTime] = String(now + policy.rotatedExpirationPeriod)
        }
    }

    static func clearRotated(in client: inout ClientRecord) {
        client.attributes[SecretAttribute.rotated] = nil
        client.attributes[SecretAttribute.rotatedCreationTime] = nil
        client.attributes[SecretAttribute.rotatedExpirationTime] = nil
    }

    /// Compares without an early exit, so response time does not reveal a matching prefix.
    static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = UInt8(left.count == right.count ? 0 : 1)
        for index in 0..<max(left.count, right.count) {
            let a = index < left.count ? left[index] : 0
            let b = index < right.count ? right[index] : 0
            difference |= a ^ b
        }
        return difference == 0
    }
}
