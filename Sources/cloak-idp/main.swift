import Dispatch
import ArgumentParser
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

// Swift Concurrency's tasks run on NIO's event loops instead of a second pool of threads.
// Measured on 2 cores: a token request is ~0.8 ms of RSA signing, and with two pools (2 event
// loops + 2 cooperative threads) on 2 cores the signing threads starved the I/O threads, giving
// multi-second latency tails and wrk timeouts at 200 connections. Must run before any task exists.
_ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()

Task {
    await CloakIdPCommand.main()
    exit(0)
}
dispatchMain()
