import CloakroomStore

/// Settles an interrupted rotation: asks the IdP which of a client's two secrets it accepts and
/// finishes or undoes the rotation to match, so that the vault's current secret is one the IdP
/// accepts. The one component both the broker (before it uses a client's secret) and the rotator
/// (before it rotates, and when a push's answer was lost) call; it knows neither of them.
///
/// Call with the client's rotation lock held.
struct RotationSettler: Sendable {
    let vault: VaultAccess
    /// Token requests (verification) and discovery, as the broker makes them.
    let client: TokenClient
    /// How often verification asks before it believes a refusal, and the pause between.
    var verifyAttempts = 3
    var verifyPause: Duration = .milliseconds(250)

    /// Settles an interrupted rotation of `ref` by asking the IdP which secret it accepts; `nil`
    /// when there is none. Needs the admin API only for a server-generated rotation interrupted
    /// before its secret was stored. Call with `ref`'s rotation lock held.
    func settle(_ ref: ClientRef, admin: () async throws -> KeycloakAdmin) async throws -> SecretRotator.Outcome? {
        // A forged journal row would otherwise retire or promote secrets: the row is checked first.
        guard let journal = try await vault.run({ vault in try vault.requireAuthentic(ref); return try vault.openRotation(of: ref) }) else { return nil }
        return try await settle(ref, journal: journal, admin: admin)
    }

    /// The same, for `journal`, just read with `ref`'s row checked in the same visit.
    func settle(_ ref: ClientRef, journal: RotationJournal, admin: () async throws -> KeycloakAdmin) async throws -> SecretRotator.Outcome? {
        var journal = journal
        var pending = try await vault.run { [journal] vault in try vault.pendingSecret(of: journal) }
        if pending == nil {
            guard journal.mode == .serverGenerated else {
                try await vault.run { [journal] vault in try vault.abandon(journal, as: .undone, detail: "interrupted before its secret was stored") }
                return SecretRotator.Outcome(client: ref, result: .undone, fromVersion: journal.fromVersion, toVersion: journal.toVersion)
            }
            // Keycloak may have generated a secret we never stored: read what it holds now.
            let admin = try await admin()
            let known = try await vault.run { try $0.identityAtIdP(of: ref) }
            let uuid = try await locate(ref, clientID: known.clientID, knownUUID: known.uuid, admin: admin).uuid
            let current = try await vault.run { try $0.currentSecret(of: ref) }
            guard let held = try await admin.secret(of: uuid), !held.matches(current) else {
                try await vault.run { [journal] vault in try vault.abandon(journal, as: .undone, detail: "the IdP still holds the old secret") }
                return SecretRotator.Outcome(client: ref, result: .undone, fromVersion: journal.fromVersion, toVersion: journal.toVersion)
            }
            pending = try await vault.run { [journal] vault in try vault.advance(journal, to: .pushed, received: held, detail: "read back after an interruption") }
            journal.state = .pushed
        }
        guard let pending else { return nil }
        switch await verify(ref, pending) {
        case .accepted:
            try await vault.run { [journal] vault in try vault.promote(journal, detail: "finished after an interruption") }
            return SecretRotator.Outcome(client: ref, result: .finished, fromVersion: journal.fromVersion, toVersion: journal.toVersion)
        case .unreachable(let problem):
            throw RotationError(.unresolved, ref, "\(ref) has an unfinished rotation and the IdP cannot be asked which secret it holds (\(problem)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
        case .rejected:
            switch await verifyCurrent(ref) {
            case .accepted:
                try await vault.run { [journal] vault in try vault.abandon(journal, as: .undone, detail: "the IdP still holds the old secret") }
                return SecretRotator.Outcome(client: ref, result: .undone, fromVersion: journal.fromVersion, toVersion: journal.toVersion)
            case .unreachable(let problem):
                throw RotationError(.unresolved, ref, "\(ref) has an unfinished rotation and the IdP cannot be asked which secret it holds (\(problem)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
            case .rejected(let problem):
                throw RotationError(.unresolved, ref, "\(ref) has an unfinished rotation, and the IdP accepts neither its current nor its pending secret (\(problem)). Both are kept. Someone changed the secret at the IdP: store the one it holds (or a new one set there) again.", next: [.storeSecretAgain(ref)])
            }
        }
    }

    enum Verification {
        case accepted
        case rejected(String)
        case unreachable(String)
    }

    /// Step 3: does the IdP accept `pending`? Refusals are asked again a few times (a Keycloak
    /// cluster may take a moment to see the new secret on every node).
    func verify(_ ref: ClientRef, _ pending: PendingSecret) async -> Verification {
        await ask { try await vault.run { try $0.verificationRequest(for: ref, with: pending) } }
    }

    /// `verify`, with the verification request made already.
    func verify(_ request: TokenRequest) async -> Verification {
        await ask { request }
    }

    /// Does the IdP accept `ref`'s current secret?
    func verifyCurrent(_ ref: ClientRef) async -> Verification {
        await ask { try await vault.run { try $0.tokenRequest(for: ref, TokenRequestShape()).0 } }
    }

    private func ask(_ makeRequest: () async throws -> TokenRequest) async -> Verification {
        var request: TokenRequest
        do {
            request = try await makeRequest()
            // A realm added by issuer whose endpoint is not known yet (or no longer opens): ask it.
            if request.tokenURL.isEmpty, let issuer = request.issuer {
                request.tokenURL = try await client.discover(issuer, realm: request.ref.realm, caFile: request.caFile,
                                                             allowsInsecureHTTP: request.allowsInsecureHTTP, storingIn: vault).tokenEndpoint
            }
        } catch {
            return .unreachable("\(error)")
        }
        var attempt = 0
        while true {
            attempt += 1
            do {
                _ = try await client.token(for: request)
                return .accepted
            } catch {
                switch error {
                case .rejected(_, let status, let code, _):
                    guard attempt < verifyAttempts else { return .rejected("HTTP \(status)\(code.map { ", \($0)" } ?? "")") }
                    try? await Task.sleep(for: verifyPause)
                case .unavailable(let message), .malformedResponse(let message), .refused(let message), .verificationFailed(let message):
                    return .unreachable(message.message)
                }
            }
        }
    }

    /// The client's UUID at the IdP and its representation. `knownUUID` is the one the vault
    /// remembers (`identityAtIdP(of:)`); a stale one is looked up again.
    func locate(_ ref: ClientRef, clientID: String, knownUUID: String?, admin: KeycloakAdmin) async throws
        -> (uuid: String, representation: ClientRepresentation, learned: Bool) {
        var lookedUp = false
        var uuid = knownUUID
        while true {
            let found: ClientRepresentation?
            if let known = uuid {
                found = try await admin.representation(of: known)
            } else {
                guard let (id, listed) = try await admin.findClient(clientID: clientID) else {
                    throw RotationError(.unknownAtIdP, ref, "realm \(ref.realm) at the IdP has no client with client_id '\(clientID)' (\(ref)). Nothing was changed.", next: [.showClient(ref)])
                }
                (uuid, found, lookedUp) = (id, listed, true)
            }
            if let uuid, let representation = found, representation.clientID == clientID {
                guard !representation.isPublic, !representation.isBearerOnly else {
                    throw RotationError(.failed, ref, "'\(clientID)' is a \(representation.isPublic ? "public" : "bearer-only") client at the IdP: it has no secret to rotate. Nothing was changed.")
                }
                if let type = representation.authenticatorType, type != "client-secret", type != "client-secret-jwt" {
                    throw RotationError(.failed, ref, "'\(clientID)' authenticates with '\(type)' at the IdP, not with a client secret: there is nothing to rotate. Nothing was changed.")
                }
                return (uuid, representation, lookedUp)
            }
            // The remembered UUID is gone (the client was re-created): look it up again, once.
            guard !lookedUp else {
                throw RotationError(.unknownAtIdP, ref, "realm \(ref.realm) at the IdP has no client with client_id '\(clientID)' (\(ref)). Nothing was changed.")
            }
            uuid = nil
        }
    }

}
