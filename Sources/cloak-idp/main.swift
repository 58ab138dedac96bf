import Dispatch
import ArgumentParser
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

// Swift Concurrency's tasks run on NIO's event loops instead of a second pool of threads, so
// the process has two busy threads fewer on a 2-core machine. Measured with signing on NIO's
// FIFO thread pool (see Emulator.sign): about the same tokens/s with and without this (~1.79k/s),
// so it is a simplification, not a speed-up. Must run before any task exists.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

Task {
    await CloakIdPCommand.main()
    exit(0)
}
dispatchMain()
