#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Every file this process creates (the vault's -wal and -shm among them) is private to its owner.
umask(0o077)
exit(await CLI.main(Array(CommandLine.arguments.dropFirst())))
