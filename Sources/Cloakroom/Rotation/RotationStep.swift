/// The moments of a rotation that `SecretRotator.Options.checkpoint` is told about, each right
/// after it happened: `prepared` once that step is committed to the vault; `sent` once Keycloak
/// answered the PUT of a secret we chose, before the journal records it; `generated` once
/// Keycloak answered with a secret it made, before it is stored; `pushed` once the push is
/// settled as far as the vault is concerned — committed for a generated secret, and for a chosen
/// one once the IdP answered its verification (the step is then committed with the promote, or
/// on its own if the IdP did not accept the secret); `verified` once the IdP accepted the new
/// secret, before promote commits.
///
/// The crash-safety tests stop a process dead at each of them and prove that the next command
/// settles the rotation from there (cloak's debug builds kill themselves at `CLOAK_TEST_CRASH_AFTER`);
/// a service may log them.
public enum RotationStep: String, Sendable, CaseIterable {
    /// The steps, in the order a rotation can reach them (`sent` for a secret we chose,
    /// `generated` for one Keycloak made).
    case prepared, sent, generated, pushed, verified
}
