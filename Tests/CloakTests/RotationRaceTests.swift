import Foundation
import CloakroomTestSupport
import Testing

/// `cloak token --refresh` while `cloak rotate` runs in other processes (issue 9, item 8): a
/// refresh that read the secret a rotation is replacing must not fail as "wrong credentials".
@Suite struct RotationRaceTests {
    @Test func refreshRacingRotationsNeverReportsWrongCredentials() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        // Each token request of orders-svc waits 300 ms at the IdP before its secret is checked:
        // a rotation's push landing in that window used to turn a refresh into exit 11.
        try await idp.fault(#"{"fault":"latency","delay_ms":300,"route":"token","client_id":"orders-svc"}"#)

        let rotations = 6
        let rotationStatuses = Statuses()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            for _ in 0..<rotations {
                rotationStatuses.append((try? sandbox.run(["rotate", "r1/orders"]))?.status ?? -1)
                Thread.sleep(forTimeInterval: 1)
            }
            done.signal()
        }
        var refreshes: [Outcome] = []
        while done.wait(timeout: .now()) == .timedOut, refreshes.count < 200 {
            refreshes.append(try sandbox.run(["token", "r1/orders", "--refresh"]))
        }

        #expect(rotationStatuses.all == Array(repeating: 0, count: rotations), "every rotation succeeds")
        #expect(refreshes.count >= 10, "too few refreshes overlapped the rotations: \(refreshes.count)")
        let failed = refreshes.filter { $0.status != 0 }
        #expect(failed.isEmpty, "\(failed.count) of \(refreshes.count) refreshes failed; first: \(failed.first.map(String.init(describing:)) ?? "")")
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders") == 1 + rotations)
        try sandbox.ok("doctor")
    }
}

/// Exit statuses appended from another thread.
final class Statuses: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Int32] = []
    func append(_ value: Int32) { lock.withLock { values.append(value) } }
    var all: [Int32] { lock.withLock { values } }
}
