import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Prompts and messages. Everything a person reads goes to stderr; stdout carries only results.
enum Terminal {
    /// stdin and stderr are both terminals: a person is there to answer a prompt.
    static var isInteractive: Bool { isatty(0) == 1 && isatty(2) == 1 }

    /// Messages often quote what the user (or a file, or a server) gave; control characters in
    /// it are shown escaped, never sent to the terminal, where ESC sequences could rewrite the screen.
    static func error(_ message: String) { write(2, "cloak: " + message.escapingControlCharacters(keepingLines: true) + "\n") }

    static func note(_ message: String) { write(2, message.escapingControlCharacters(keepingLines: true) + "\n") }

    static func write(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Reads one line from the terminal on stdin with echo off.
    static func withoutEcho<T>(prompt: String, _ read: () throws -> T) throws -> T {
        var saved = termios()
        guard tcgetattr(0, &saved) == 0 else {
            write(2, prompt)
            return try read()
        }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        quiet.c_lflag |= tcflag_t(ECHONL)
        EchoGuard.saved = saved
        signal(SIGINT) { _ in EchoGuard.restoreAndExit() }
        // Echo goes off (dropping typeahead) before the prompt shows: whatever is typed or pasted
        // after the prompt appears is kept, and never echoed.
        tcsetattr(0, TCSAFLUSH, &quiet)
        write(2, prompt)
        defer {
            tcsetattr(0, TCSAFLUSH, &saved)
            signal(SIGINT, SIG_DFL)
        }
        return try read()
    }

    static func passphrase(prompt: String) throws -> Passphrase {
        try withoutEcho(prompt: prompt) { try Passphrase.read(from: 0) }
    }

    /// A new passphrase, typed twice.
    static func newPassphrase(prompt: String = "New passphrase: ") throws -> Passphrase {
        let first = try passphrase(prompt: prompt)
        let second = try passphrase(prompt: "Type it again: ")
        guard first.matches(second) else { throw UsageError("the two passphrases differ; nothing was changed.") }
        return first
    }
}

extension Terminal {
    /// A line typed at the terminal (echoed), without its newline; empty at end of input.
    static func readLine() -> String {
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while line.count < 256, read(0, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        return String(decoding: line, as: UTF8.self)
    }

    /// A passphrase typed without echo, or `nil` when only Enter was pressed.
    static func optionalPassphrase(prompt: String) throws -> Passphrase? {
        try withoutEcho(prompt: prompt) {
            let bytes = try SecureInput.bytes(from: 0, limit: Passphrase.maximumLength, what: "the passphrase", line: true)
            return bytes.count == 0 ? nil : Passphrase(bytes)
        }
    }
}

/// Restores the terminal's echo if the user presses Ctrl-C at a passphrase prompt.
private enum EchoGuard {
    nonisolated(unsafe) static var saved = termios()

    static func restoreAndExit() {
        tcsetattr(0, TCSAFLUSH, &saved)
        _exit(130)
    }
}
