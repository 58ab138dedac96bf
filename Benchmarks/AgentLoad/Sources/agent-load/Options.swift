import NIOCore
import NIOHTTP1
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mistake on the command line.
struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The command line, parsed.
struct Options: Sendable {
    enum Mode: String, Sendable {
        case latency, throughput, sweep
    }

    static let usage = """
        usage: agent-load latency    --socket PATH --path PATH [--requests N] [--warmup N]
               agent-load throughput --socket PATH --path PATH [--connections C] [--duration SEC] [--warmup-seconds SEC]
               agent-load sweep      --socket PATH --paths-file FILE [--connections C] [--rounds R] [--interval SEC]
        options for every mode: --path PATH (repeatable), --paths-file FILE (one path per line),
               --threads T (event loop threads, default 1), --count-sources (count bodies by "source")
        """

    var mode: Mode
    var socket: String
    /// One GET per path, paths in the order given (`--path`s, then each `--paths-file`'s lines).
    var requests: [HTTPRequestHead]
    /// latency: requests counted, and those sent first and not counted.
    var count = 10_000
    var warmup = 1_000
    var connections: Int
    /// throughput: how long to measure, after a warm-up of `warmupSeconds`.
    var duration = TimeAmount.seconds(5)
    var warmupSeconds = TimeAmount.seconds(1)
    /// sweep: how many times to ask for every path, and how far apart rounds start.
    var rounds = 1
    var interval = Duration.zero
    var threads = 1
    var countSources = false

    init(parsing arguments: [String]) throws {
        guard let first = arguments.first else { throw UsageError("name a mode") }
        guard let mode = Mode(rawValue: first) else { throw UsageError("unknown mode '\(first)'") }
        self.mode = mode
        connections = mode == .throughput ? 64 : 1
        var socket: String?
        var paths: [String] = []
        var rest = arguments.dropFirst()
        func value(_ name: String) throws -> String {
            guard let value = rest.popFirst() else { throw UsageError("\(name) needs a value") }
            return value
        }
        func positive(_ name: String) throws -> Int {
            let text = try value(name)
            guard let number = Int(text), number > 0 else { throw UsageError("\(name) takes a positive integer, not '\(text)'") }
            return number
        }
        func seconds(_ name: String) throws -> Double {
            let text = try value(name)
            guard let number = Double(text), number.isFinite, number >= 0 else { throw UsageError("\(name) takes seconds, not '\(text)'") }
            return number
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--socket": socket = try value(argument)
            case "--path": paths.append(try value(argument))
            case "--paths-file": paths += try Self.lines(of: try value(argument))
            case "--requests": count = try positive(argument)
            case "--warmup":
                let text = try value(argument)
                guard let number = Int(text), number >= 0 else { throw UsageError("--warmup takes a count, not '\(text)'") }
                warmup = number
            case "--connections": connections = try positive(argument)
            case "--duration": duration = .nanoseconds(Int64(try seconds(argument) * 1e9))
            case "--warmup-seconds": warmupSeconds = .nanoseconds(Int64(try seconds(argument) * 1e9))
            case "--rounds": rounds = try positive(argument)
            case "--interval": interval = .milliseconds(Int64(try seconds(argument) * 1000))
            case "--threads": threads = try positive(argument)
            case "--count-sources": countSources = true
            default: throw UsageError("unknown option '\(argument)'")
            }
        }
        guard let socket else { throw UsageError("--socket is required") }
        guard !paths.isEmpty else { throw UsageError("give --path or --paths-file") }
        for path in paths where !path.hasPrefix("/") { throw UsageError("a path starts with '/': '\(path)'") }
        self.socket = socket
        // Host is required by HTTP/1.1 (nginx answers 400 without it); keep-alive is the default.
        requests = paths.map { path in
            HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: ["Host": "localhost", "Accept": "application/json"])
        }
        if mode == .sweep { countSources = true }
    }

    /// The non-empty lines of the file at `path`, without surrounding blanks.
    static func lines(of path: String) throws -> [String] {
        guard let file = fopen(path, "r") else { throw UsageError("cannot read \(path)") }
        defer { fclose(file) }
        var lines: [String] = []
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        while getline(&buffer, &capacity, file) > 0, let buffer {
            let line = String(cString: buffer).trimmingBlanks()
            if !line.isEmpty { lines.append(line) }
        }
        return lines
    }
}

extension String {
    func trimmingBlanks() -> String {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !blank($0) }), let end = lastIndex(where: { !blank($0) }) else { return "" }
        return String(self[start...end])
    }
}
