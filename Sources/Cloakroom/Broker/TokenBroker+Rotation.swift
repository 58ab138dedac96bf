import CloakroomCrypto
import CloakroomStore
import Synchronization

/// How a token fetch meets a rotation of the same client: another process's, live or
/// interrupted (a process killed half-way), and the secret it may have replaced meanwhile.
extension TokenBroker {
    /// A credential error can mean only that a rotation replaced the secret this request used:
    /// it pushed its new secret between our reading the old one and the IdP checking it (`cloak
    /// token --refresh` racing `cloak rotate` exited 11 in 10 of 288 calls). So when a rotation of
    /// `client` is open, or its current secret is no longer version `used`, this waits for the
    /// rotation to let go of its lock (settling it, if it was interrupted) and returns the request
    /// for the secret that is current now — `nil` when nothing changed and the refusal stands.
    /// A rotation by this very process is not waited for (it holds the lock itself).
    func secretReplacedByRotation(of client: ClientRef, since used: Int, shape: TokenRequestShape,
                                          until end: ContinuousClock.Instant) async -> (TokenRequest, Int)? {
        let open = (try? await vault.run { try $0.openRotation(of: client) }) != nil
        guard let (_, current) = try? await vault.run({ try $0.tokenRequest(for: client, shape) }), open || current != used else { return nil }
        if !rotating.withLock({ $0.contains(client) }) {
            await settleInterruptedRotation(of: client, until: end)
        }
        guard let (request, now) = try? await vault.run({ try $0.tokenRequest(for: client, shape) }), now != used else { return nil }
        return (request, now)
    }

    /// A rotation of `client` was interrupted (its process killed half-way): before using the
    /// current secret, ask the IdP which secret it holds and finish or undo the rotation, so the
    /// token is fetched with the secret that works. Needs no admin client. If another process is
    /// rotating it right now, or the IdP cannot tell, the fetch goes on with the current secret.
    func settleInterruptedRotation(of client: ClientRef, until end: ContinuousClock.Instant) async {
        // A vault that can only be read cannot record a settled rotation: leave it to a writer.
        guard !readOnlyVault, let lock = try? await locks.acquire(rotationLockName(for: client), until: end) else { return }
        _ = try? await RotationSettler(vault: vault, client: self.client).settle(client, admin: {
            throw RotationError(.adminRefused, client, "settling a server-generated rotation needs the admin API")
        })
        _ = consume lock
    }

    /// The lock one rotation of `client` holds, across processes.
    func rotationLockName(for client: ClientRef) -> String {
        "rotate-" + Sodium.digest(Array(client.description.utf8), length: 16).hex
    }
}
