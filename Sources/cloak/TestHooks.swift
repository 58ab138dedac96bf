#if CLOAK_TEST_HOOKS
import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Debug builds only (Package.swift defines CLOAK_TEST_HOOKS for them; a release `cloak` has
/// none of this): the crash-safety tests run `cloak rotate` with `CLOAK_TEST_CRASH_AFTER=STEP`,
/// and the process SIGKILLs itself the moment that step of the rotation is done.
enum TestHooks {
    static let crashAfter: @Sendable (RotationStep, ClientRef) -> Void = { step, _ in
        guard Environment.value("CLOAK_TEST_CRASH_AFTER") == step.rawValue else { return }
        kill(getpid(), SIGKILL)
    }
}
#endif
