#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Cloakroom

// Crash signals go straight to the kernel. Where the Swift runtime's backtracer is enabled it
// installs handlers for them before main (it reads SWIFT_BACKTRACE at start-up, too early to
// change from in here), and an external SIGABRT was reported swallowed by it (issue 9). With the
// default action a `kill -ABRT` kills cloak as asked and, core dumps being off (below), leaves
// nothing on disk. They are unblocked too: a mask inherited from the parent (a test runner's
// children get one) kept a SIGABRT pending while cloak finished its request and exited 0 — what
// CoreDumpTests saw on ff98e49. Seven syscalls, before any other thread exists (threads
// inherit this mask).
var crashSignals = sigset_t()
sigemptyset(&crashSignals)
for crash in [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP] {
    signal(crash, SIG_DFL)
    sigaddset(&crashSignals, crash)
}
sigprocmask(SIG_UNBLOCK, &crashSignals, nil)
// No core file with the key, secrets or a request's credentials in it (two syscalls, Linux).
CoreDumps.disable()
// Every file this process creates (the vault's -wal and -shm among them) is private to its owner.
umask(0o077)
// Synchronous on purpose: an async main starts Swift concurrency's thread pool, which costs a
// whole-process `cloak` about 2 ms of its budget before it has done anything.
let arguments = Array(CommandLine.arguments.dropFirst())
exit(FastToken.run(arguments) ?? CLI.main(arguments))
