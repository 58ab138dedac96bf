internal import AsyncHTTPClient
internal import NIOCore
internal import NIOPosix

/// A task executor that runs its jobs on one of the transport's event loops: work that is mostly
/// waiting for this transport's answers, run under `withTaskExecutorPreference`, resumes on the
/// thread that read the answer instead of being handed to the cooperative pool and back.
///
/// - Warning: what runs there must not block (no synchronous waits, no long computations): it
///   holds up the loop's I/O while it runs.
package final class EventLoopExecutor: TaskExecutor {
    private let loop: any EventLoop

    /// One loop of the group the transport's client uses (`HTTPClient.defaultEventLoopGroup`).
    package init() {
        loop = HTTPClient.defaultEventLoopGroup.next()
    }

    /// Whether the calling thread is an event loop's (of any `MultiThreadedEventLoopGroup`).
    package static var isCurrentThreadAnEventLoop: Bool {
        MultiThreadedEventLoopGroup.currentEventLoop != nil
    }

    package func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
