import Foundation
import Testing
@testable import Cloakroom

/// The fuzzers' inputs as ordinary tests: every file of Fuzz/corpus/HARNESS (what libFuzzer
/// kept) and Fuzz/regressions/HARNESS (a minimal reproducer of each crash it found) goes through
/// the same harness `scripts/fuzz.sh` runs, without the sanitizer. None may crash the process,
/// and none may break an invariant the harness checks.
@Suite struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ folder: String, _ harness: FuzzHarness) throws -> [URL] {
        let directory = fuzz.appendingPathComponent(folder).appendingPathComponent(harness.rawValue)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        return try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { !$0.lastPathComponent.hasPrefix(".") }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }

    @Test(arguments: FuzzHarness.allCases)
    func corpusReplaysCleanly(_ harness: FuzzHarness) throws {
        let files = try Self.inputs("corpus", harness)
        #expect(!files.isEmpty, "Fuzz/corpus/\(harness.rawValue) is empty: run scripts/fuzz.sh \(harness.rawValue)")
        for file in files { try replay(file, harness) }
    }

    @Test(arguments: FuzzHarness.allCases)
    func regressionsReplayCleanly(_ harness: FuzzHarness) throws {
        for file in try Self.inputs("regressions", harness) { try replay(file, harness) }
    }

    private func replay(_ file: URL, _ harness: FuzzHarness) throws {
        let violations = harness.run([UInt8](try Data(contentsOf: file)))
        let name = "\(harness.rawValue)/\(file.lastPathComponent)"
        #expect(violations.isEmpty, "\(name): \(violations)")
    }
}
