import Cloakroom

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Which harness runs, and which violations a run sets aside (see Fuzz/README.md).
enum FuzzEntry {
    /// `CLOAK_FUZZ_HARNESS`: one of `FuzzHarness`'s names. libFuzzer owns argv, so the choice
    /// comes from the environment.
    static let harness: FuzzHarness = {
        let name = getenv("CLOAK_FUZZ_HARNESS").map { String(cString: $0) } ?? ""
        guard let harness = FuzzHarness(rawValue: name) else {
            fatalError("set CLOAK_FUZZ_HARNESS to one of \(FuzzHarness.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return harness
    }()

    /// `CLOAK_FUZZ_SET_ASIDE=PREFIX`: violations starting with PREFIX are known, owned by another
    /// fix, and do not stop the run (e.g. `[issue 9 item 3]` before EndpointURL is fixed).
    static let setAside: String? = getenv("CLOAK_FUZZ_SET_ASIDE").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }

    static func violations(_ data: UnsafeRawBufferPointer) -> [String] {
        harness.run(data).filter { violation in setAside.map { !violation.hasPrefix($0) } ?? true }
    }
}

#if FUZZING
/// libFuzzer's driver, from `-sanitize=fuzzer`'s runtime. cloak-fuzz keeps its own `main`
/// (SwiftPM links an executable with `--defsym main=<module>_main`, which overrides libFuzzer's)
/// and hands the driver the callback, rather than exporting `LLVMFuzzerTestOneInput`.
/// Declared by its symbol: on x86-64 and arm64 Linux, swiftcc passes these three pointers and
/// returns the int exactly as the C ABI does.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// One input. A violated invariant is a crash, so libFuzzer saves the input.
func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let violations = FuzzEntry.violations(UnsafeRawBufferPointer(start: data, count: size))
    if !violations.isEmpty {
        fatalError("\(FuzzEntry.harness.rawValue) invariant violated: \(violations.joined(separator: "; "))")
    }
    return 0
}

@main
struct FuzzMain {
    static func main() {
        _ = FuzzEntry.harness  // refuse a missing CLOAK_FUZZ_HARNESS before libFuzzer starts
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) })
    }
}
#else
@main
struct FuzzReplay {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        if arguments.count == 3, arguments[0] == "payload" {
            do {
                try write(FuzzHarness.bundlePayload(ofBundle: read(arguments[1])), to: arguments[2])
            } catch {
                fail("\(error)")
            }
            return
        }
        guard let name = arguments.first, let harness = FuzzHarness(rawValue: name), arguments.count > 1 else {
            fail("usage: cloak-fuzz HARNESS FILE... (HARNESS: \(FuzzHarness.allCases.map(\.rawValue).joined(separator: ", "))) | cloak-fuzz payload BUNDLE OUT")
        }
        var failed = false
        for path in arguments.dropFirst() {
            for violation in harness.run(read(path)) {
                print("\(path): \(violation)")
                failed = true
            }
        }
        exit(failed ? 1 : 0)
    }

    static func read(_ path: String) -> [UInt8] {
        guard let file = fopen(path, "rb") else { fail("cannot read \(path)") }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count == 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }

    static func write(_ bytes: [UInt8], to path: String) throws {
        guard let file = fopen(path, "wb") else { fail("cannot write \(path)") }
        defer { fclose(file) }
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { fail("cannot write \(path)") }
    }

    static func fail(_ message: String) -> Never {
        let line = Array("cloak-fuzz: \(message)\n".utf8)
        _ = Glibc.write(2, line, line.count)  // not fputs(stderr): Swift 6 refuses the global `stderr`
        exit(2)
    }
}
#endif
