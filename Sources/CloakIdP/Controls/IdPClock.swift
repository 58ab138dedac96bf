#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import Synchronization

/// The emulator's notion of now: wall-clock time plus an offset that tests move forward to
/// expire tokens and secrets without sleeping.
final class IdPClock: Sendable {
    private let offset = Mutex<Double>(0)

    /// Seconds since 1970, offset applied.
    var now: Double { Date().timeIntervalSince1970 + offset.withLock { $0 } }

    /// Whole seconds since 1970, as JWT `iat`/`exp` use.
    var nowSeconds: Int { Int(now) }

    var offsetSeconds: Double {
        get { offset.withLock { $0 } }
        set { offset.withLock { $0 = newValue } }
    }

    func advance(by seconds: Double) {
        offset.withLock { $0 += seconds }
    }
}
