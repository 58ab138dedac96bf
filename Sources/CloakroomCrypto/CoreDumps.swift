internal import CSodium
import Synchronization

/// Keeps clear secrets out of core files: a crash (or a `kill -ABRT`) while a vault is unlocked
/// would otherwise write the process's memory — vault key, client secrets, a token request's
/// Basic credentials — to disk.
///
/// On Linux, `disable()` marks the process not dumpable (`prctl(PR_SET_DUMPABLE, 0)`: no core
/// file whatever the limit, and `/proc/PID/mem` and `environ` readable by root only) and sets
/// the soft `RLIMIT_CORE` to 0 (the hard limit is left alone, so it can be given back). Elsewhere
/// it does nothing. Both are process-wide: a service that embeds the library gets no core
/// files once it unlocks a vault, and a non-root debugger can no longer attach to it.
public enum CoreDumps {
    /// The soft core-size limit from before the first `disable()`; `nil` until then.
    private static let startingLimit = Mutex<UInt64?>(nil)

    /// Turns core dumps off for this process, once (later calls cost one uncontended lock).
    public static func disable() {
        #if os(Linux)
        startingLimit.withLock { saved in
            guard saved == nil else { return }
            saved = cloak_core_limit()
            _ = cloak_set_not_dumpable()
            _ = cloak_set_core_limit(0)
        }
        #endif
    }

    /// Gives a program this process is about to `exec` the core-size limit it started with
    /// (`cloak exec`): the command's crashes are its own business. Dumpability needs no
    /// restoring: `execve` resets it for a program that changes no credentials.
    public static func restoreForExec() {
        #if os(Linux)
        if let limit = startingLimit.withLock({ $0 }) { _ = cloak_set_core_limit(limit) }
        #endif
    }
}
