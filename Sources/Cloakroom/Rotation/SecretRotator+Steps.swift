import CloakroomStore

/// The rotation's four steps for one client, under its lock (`SecretRotator.rotation(of:…)`):
/// prepare, push, verify, promote — and, when a step fails, what is put back and what is kept.
extension SecretRotator {
    /// Prepare, push, verify, promote, with `secret` (nil: server-generated).
    func perform(_ ref: ClientRef, mode: RotationJournal.Mode, secret: ClientSecret?, restoring restoredVersion: Int? = nil,
                 prelude: Prelude?, admins: AdminCache?) async throws -> Outcome {
        let admin: KeycloakAdmin, uuid: String, representation: ClientRepresentation, current: ClientSecret, learned: Bool
        let known: (clientID: String, uuid: String?), clientRowID: Int64
        do {
            // Read with the lock's first visit, unless a settle changed things since: then one
            // visit of its own (`currentSecret` checks the client's row first).
            if let prelude {
                (clientRowID, current, known) = (prelude.clientRowID, prelude.current, prelude.identity)
            } else {
                (clientRowID, current, known) = try await vault.run { vault in
                    (try vault.requireAuthentic(ref), try vault.openCurrentSecret(of: ref), try vault.identityAtIdP(of: ref))
                }
            }
            admin = try await self.admin(for: ref.realm, cache: admins)
        } catch {
            // Nothing was journaled, but the attempt belongs in the audit log.
            let detail = "\(error)"
            await vault.run { _ = $0.recordIfPossible(.rotationFailed, realm: ref.realm, client: ref.name, outcome: .failed, detail: detail) }
            throw error
        }

        // 1. prepare, while the IdP is asked where the client is: the prepare's commit (and its
        // fsync) overlaps the lookups, which change nothing at the IdP. Nothing is sent that
        // could change anything before both are done.
        async let preparing = commits.write(durable: true, clientRowID: clientRowID, in: vault) { vault in
            // The verify request is made in the same transaction, from the row the prepare checked.
            let (journal, pending) = try vault.prepareRotation(of: ref, clientRowID: clientRowID, mode: mode, secret: secret)
            return (journal, try pending.map { ($0, try vault.verificationRequest(for: ref, with: $0)) })
        }
        do {
            let located = try await settler.locate(ref, clientID: known.clientID, knownUUID: known.uuid, admin: admin)
            (uuid, representation, learned) = (located.uuid, located.representation, located.learned)
        } catch {
            // Nothing was sent; a journal prepared meanwhile is closed as failed (which records
            // the attempt), else the attempt is recorded on its own.
            let detail = "\(error)"
            if let (journal, _) = try? await preparing {
                try? await vault.run { try $0.abandon(journal, as: .failed, detail: detail) }
            } else {
                await vault.run { _ = $0.recordIfPossible(.rotationFailed, realm: ref.realm, client: ref.name, outcome: .failed, detail: detail) }
            }
            throw error
        }
        let (journal, chosen) = try await preparing
        options.checkpoint?(.prepared, ref)

        // From the push on, the IdP may hold the new secret: whatever fails after it (a full disk
        // while journaling, a vault error while promoting, the IdP going away) leaves both
        // secrets kept and the journal open, so it is exit 17 and `--resume`, never "nothing
        // was changed" — that once sent a user to retry while Keycloak held a secret the vault
        // had not recorded as pushed.
        do {
            return try await push(ref, mode: mode, journal: journal, prepared: chosen, admin: admin, uuid: uuid,
                                  representation: representation, current: current, restoring: restoredVersion,
                                  rememberingIdPUUID: learned ? uuid : nil)
        } catch let error as RotationError {
            throw error
        } catch let error as TokenError {
            throw RotationError(.unresolved, ref, "the rotation of \(ref) could not be finished after its new secret was pushed (\(error)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
        } catch {
            throw RotationError(.unresolved, ref, "the rotation of \(ref) could not be finished after its new secret was pushed: \(error) Both secrets are kept until the rotation is settled, once that is fixed.",
                                next: ((error as? any CloakroomError)?.next ?? []) + [.resumeRotation(ref)])
        }
    }

    /// Steps 2 to 4, once step 1 is committed. Any error it throws other than a `RotationError`
    /// means the IdP may hold the new secret.
    ///
    /// `prepared` is the chosen secret and the request that verifies it; `nil` when the IdP
    /// generates the secret. `idpUUID` is remembered with the journal's step to 'pushed'.
    private func push(_ ref: ClientRef, mode: RotationJournal.Mode, journal: RotationJournal, prepared: (PendingSecret, TokenRequest)?,
                      admin: KeycloakAdmin, uuid: String, representation: ClientRepresentation, current: ClientSecret,
                      restoring restoredVersion: Int?, rememberingIdPUUID idpUUID: String?) async throws -> Outcome {
        // 2. push. The client's row is checked before each step, not only at the start: the file
        // may change meanwhile. Prepare checked it in its transaction, just now; each step
        // below checks it in its own.
        let verification: TokenRequest
        do {
            if let (prepared, request) = prepared {
                try await admin.update(uuid, representation, secret: prepared.secret)
                options.checkpoint?(.sent, ref)
                // Made by the prepare, in its transaction, from the row it checked.
                verification = request
            } else {
                let generated = try await admin.regenerateSecret(of: uuid)
                options.checkpoint?(.generated, ref)
                // Sealed and committed in the step that received it. A crash before this commit
                // leaves Keycloak with a secret we never stored: settle() reads it back with
                // `GET …/client-secret` (and so needs the admin client; the token path cannot).
                verification = try await vault.run { [journal] vault in
                    guard let received = try vault.advance(journal, to: .pushed, received: generated, rememberingIdPUUID: idpUUID) else {
                        preconditionFailure("advance(received:) returns the pending secret it sealed")
                    }
                    return try vault.verificationRequest(for: ref, with: received)
                }
            }
        } catch let error as RotationError {
            // Refused before anything changed at the IdP: nothing to undo there.
            try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: error.message) }
            throw RotationError(error.kind, ref, error.message + " Nothing was changed; \(ref) keeps its secret.", next: error.next)
        } catch let error as TokenError {
            guard case .unavailable = error else {
                let detail = "\(error)"
                try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: detail) }
                throw error
            }
            // The push may or may not have arrived: ask the IdP which secret it accepts.
            if let outcome = try await settler.settle(ref, admin: { admin }) , outcome.result == .finished {
                return Outcome(client: ref, result: .rotated, fromVersion: journal.fromVersion, toVersion: journal.toVersion,
                               notes: ["the push timed out but had arrived"])
            }
            throw RotationError(.failed, ref, "the new secret of \(ref) could not be pushed: \(error) The old secret stays current.")
        }
        // 3. verify (which sends nothing the prepare did not check). A chosen secret's step to
        // 'pushed' gets no transaction of its own: it is recorded with the promote when the IdP
        // accepts the new secret, and before anything else when it does not. Nothing depends on
        // it: settling treats an open journal at 'prepared' and at 'pushed' alike, asking the IdP
        // which secret it accepts, as it must anyway (the push may arrive and the process die
        // before any write). One transaction less: 8 % less CPU in a bulk rotation.
        let verdict = await settler.verify(verification)
        let accepted = if case .accepted = verdict { true } else { false }
        let pushRecordedWithPromote = prepared != nil && accepted
        if prepared != nil && !accepted {
            try await vault.run { [journal] vault in _ = try vault.advance(journal, to: .pushed, rememberingIdPUUID: idpUUID) }
        }
        options.checkpoint?(.pushed, ref)
        switch verdict {
        case .accepted:
            break
        case .unreachable(let problem):
            throw RotationError(.unresolved, ref, "the new secret of \(ref) was pushed, but the IdP could not be asked whether it accepts it (\(problem)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
        case .rejected(let problem):
            // Put the old secret back, and check that it works again before saying so.
            do {
                if mode != .serverGenerated {
                    try await admin.update(uuid, representation, secret: current)
                } else {
                    throw RotationError(.unresolved, ref, "Keycloak generated a secret it then refused")
                }
                guard case .accepted = await settler.verifyCurrent(ref) else { throw RotationError(.unresolved, ref, "the old secret is not accepted either") }
            } catch {
                throw RotationError(.unresolved, ref, "the IdP refused the new secret of \(ref) (\(problem)), and putting the old one back failed (\(error)). Both secrets are kept until the rotation is settled, which needs the IdP to answer.", next: [.resumeRotation(ref)])
            }
            try await vault.run { [journal] vault in try vault.abandon(journal, as: .failed, detail: "the IdP refused the new secret: \(problem)") }
            throw RotationError(.failed, ref, "the IdP refused the new secret of \(ref) (\(problem)); the old secret was put back, is accepted again, and stays current.", next: [.letIdPGenerateSecret])
        }
        // No journal write here: a crash before promote commits leaves the journal at 'pushed',
        // and settling asks the IdP again, which accepts the pending secret: the same outcome.
        options.checkpoint?(.verified, ref)

        // 4. promote
        var notes: [String] = []
        // Whether Keycloak's dual-secret policy kept the old secret shows in the representation
        // after the change; read it again only where that policy can be at work (its executor
        // stamps `client.secret.expiration.time`), or when asked to end the dual validity.
        let policyMayApply = mode == .serverGenerated || options.invalidateRotated || representation.hasSecretExpiration
        if policyMayApply, let refreshed = try? await admin.representation(of: uuid), refreshed.hasRotatedSecret {
            if options.invalidateRotated {
                try await admin.invalidateRotatedSecret(of: uuid)
                notes.append("the old secret's dual validity was ended at the IdP")
            } else {
                notes.append("the realm's secret-rotation policy keeps the old secret valid at the IdP for its grace period")
            }
        }
        try await commits.write(durable: false, clientRowID: journal.clientRowID, in: vault) { [journal, notes] vault in
            try vault.promote(journal, detail: notes.joined(separator: "; "), retiring: restoredVersion,
                              recordingPush: pushRecordedWithPromote, rememberingIdPUUID: pushRecordedWithPromote ? idpUUID : nil)
        }
        return Outcome(client: ref, result: .rotated, fromVersion: journal.fromVersion, toVersion: journal.toVersion, notes: notes)
    }
}
