import Cloakroom
import Synchronization

/// `[#######-------] 37/100, 2 failed` on stderr, redrawn in place; only on a terminal.
final class ProgressBar: Sendable {
    private let enabled: Bool
    private let lastWidth = Mutex(0)

    init(enabled: Bool) { self.enabled = enabled }

    func show(done: Int, total: Int, failed: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let line = "\r[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "] \(done)/\(total)"
            + (failed > 0 ? ", \(failed) failed" : "")
        lastWidth.withLock { $0 = line.count }
        Terminal.write(2, line)
    }

    func clear() {
        guard enabled else { return }
        let width = lastWidth.withLock { $0 }
        if width > 0 { Terminal.write(2, "\r" + String(repeating: " ", count: width) + "\r") }
    }
}
