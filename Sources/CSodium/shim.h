#include <sodium.h>

#ifdef __linux__
#include <sys/prctl.h>
#include <sys/resource.h>

// prctl is variadic, which Swift cannot call; these wrappers fix its arguments (and keep
// setrlimit's resource enum out of Swift). Used by Sources/Cloakroom/Vault/CoreDumps.swift.

/// No core file for this process, whatever its limit (see prctl(2), PR_SET_DUMPABLE).
static inline int cloak_set_not_dumpable(void) {
    return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

/// The soft RLIMIT_CORE now (RLIM_INFINITY for unlimited).
static inline unsigned long long cloak_core_limit(void) {
    struct rlimit limit;
    return getrlimit(RLIMIT_CORE, &limit) == 0 ? (unsigned long long)limit.rlim_cur : 0;
}

/// Sets the soft RLIMIT_CORE, leaving the hard limit as it is.
static inline int cloak_set_core_limit(unsigned long long soft) {
    struct rlimit limit;
    if (getrlimit(RLIMIT_CORE, &limit) != 0) return -1;
    limit.rlim_cur = soft > limit.rlim_max ? limit.rlim_max : (rlim_t)soft;
    return setrlimit(RLIMIT_CORE, &limit);
}
#endif
