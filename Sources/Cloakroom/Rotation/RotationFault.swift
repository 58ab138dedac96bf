#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Where a test can stop a rotation dead: `CLOAK_TEST_CRASH_AFTER=prepared|pushed` makes the
/// process SIGKILL itself right after that step committed; `sent`: after Keycloak answered the
/// PUT of a chosen secret, before the journal records it; `generated`: after Keycloak answered a
/// server-generated secret, before it was stored; `verified`: after the IdP accepted the new
/// secret, before promote committed. For the crash-safety tests only;
/// an unset variable costs one `getenv` per step.
enum RotationFault: String {
    case prepared, sent, generated, pushed, verified

    static func reach(_ step: RotationFault) {
        guard let value = getenv("CLOAK_TEST_CRASH_AFTER"), String(cString: value) == step.rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}
