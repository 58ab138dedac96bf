#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Every file this process creates (the vault's -wal and -shm among them) is private to its owner.
umask(0o077)
// Synchronous on purpose: an async main starts Swift concurrency's thread pool, which costs a
// whole-process `cloak` about 2 ms of its budget before it has done anything.
let arguments = Array(CommandLine.arguments.dropFirst())
exit(FastToken.run(arguments) ?? CLI.main(arguments))
