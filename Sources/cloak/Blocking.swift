import Dispatch
import Synchronization

/// Runs async work from a synchronous command. Only the paths that need the network come here,
/// so a cache hit never starts Swift concurrency's thread pool.
///
/// No command shuts the broker's HTTP client down (`TokenBroker.shutdown()`): `main` calls
/// `exit` as soon as the command returns, which ends the process however many event-loop
/// threads and idle connections it holds (the kernel closes the sockets); a shutdown first
/// would only add a round of closes to every command that fetched.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let result = Mutex<Result<T, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    Task {
        let outcome: Result<T, any Error>
        do { outcome = .success(try await body()) } catch { outcome = .failure(error) }
        result.withLock { $0 = outcome }
        done.signal()
    }
    done.wait()
    return try result.withLock { $0! }.get()
}
