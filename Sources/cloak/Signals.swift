import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Waits for one of a set of signals, delivered through Dispatch rather than a handler (the
/// signals are ignored for the process, so nothing else runs when they arrive).
/// `@unchecked`: the sources are only kept alive after `init`, never touched again.
final class Signals: @unchecked Sendable {
    private let sources: [any DispatchSourceSignal]
    private let received = AsyncStream<Int32>.makeStream()

    private init(_ signals: [Int32]) {
        let continuation = received.continuation
        sources = signals.map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
    }

    /// Starts listening for `signals` now, before anything slow, so that none is missed.
    static func waiter(_ signals: [Int32]) -> Signals { Signals(signals) }

    /// The next of the signals to arrive.
    func next() async -> Int32 {
        var iterator = received.stream.makeAsyncIterator()
        return await iterator.next() ?? SIGTERM
    }
}
