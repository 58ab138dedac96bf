import AsyncHTTPClient
import CloakIdP
import Foundation
import NIOHTTP1
import Testing

@Suite("Test controls: faults, counters, clock")
struct ControlsTests {
    struct FaultCase: Sendable, CustomTestStringConvertible {
        let fault: JSONValue
        let check: @Sendable (Reply) -> Void
        var testDescription: String { fault["fault"]?.stringValue ?? "?" }
    }

    static let replacingFaults: [FaultCase] = [
        FaultCase(fault: ["fault": "status", "status": 500]) { reply in
            #expect(reply.status == 500)
        },
        FaultCase(fault: ["fault": "status", "status": 502]) { reply in
            #expect(reply.status == 502)
        },
        FaultCase(fault: ["fault": "status", "status": 503]) { reply in
            #expect(reply.status == 503)
            #expect(reply.json?["error"] != nil)
        },
        FaultCase(fault: ["fault": "rate-limit", "retry_after": 7]) { reply in
            #expect(reply.status == 429)
            #expect(reply.header("Retry-After") == "7")
        },
        FaultCase(fault: ["fault": "html", "status": 502]) { reply in
            #expect(reply.status == 502)
            #expect(reply.header("Content-Type") == "text/html")
            #expect(reply.body.hasPrefix("<html>"))
        },
        FaultCase(fault: ["fault": "truncated-json"]) { reply in
            #expect(reply.status == 200)
            #expect(reply.body.hasPrefix(#"{"access_token":""#))
            #expect(reply.json == nil, "the body must not parse")
        },
        FaultCase(fault: ["fault": "missing-expires-in"]) { reply in
            #expect(reply.status == 200)
            #expect(reply.json?["access_token"] != nil)
            #expect(reply.json?["expires_in"] == nil)
            #expect(reply.json?["token_type"] == "Bearer")
        },
        FaultCase(fault: ["fault": "oversized", "bytes": 3_000_000]) { reply in
            #expect(reply.status == 200)
            #expect(reply.body.utf8.count >= 3_000_000)
            #expect(reply.json?["access_token"] != nil, "still valid JSON, only huge")
        },
    ]

    @Test(arguments: replacingFaults)
    func faultHitsTheNextMatchingRequestOnly(_ faultCase: FaultCase) async throws {
        try await withIdP { harness in
            var fault = faultCase.fault.objectValue!
            fault["route"] = "token"
            fault["count"] = 1
            try await harness.inject(.object(fault))
            // A request on another route is not consumed by the fault.
            #expect(try await harness.send(.GET, "/realms/r1/protocol/openid-connect/certs").status == 200)
            faultCase.check(try await harness.token("broker-svc", Fixtures.brokerSecret))
            let next = try await harness.token("broker-svc", Fixtures.brokerSecret)
            #expect(next.status == 200)
            #expect(next.json?["expires_in"] == 300)
        }
    }

    @Test func resetDropsTheConnection() async throws {
        try await withIdP { harness in
            try await harness.inject(["fault": "reset", "route": "token", "count": 1])
            await #expect(throws: (any Error).self) {
                _ = try await harness.token("broker-svc", Fixtures.brokerSecret)
            }
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200)
            let stats = try await harness.send(.GET, "/_cloak-idp/stats").json
            #expect(stats?["by_status"]?["reset"] == 1)
        }
    }

    @Test func latencyDelaysThenAnswersNormally() async throws {
        try await withIdP { harness in
            try await harness.inject(["fault": "latency", "delay_ms": 300, "count": 1])
            let start = ContinuousClock.now
            let reply = try await harness.token("broker-svc", Fixtures.brokerSecret)
            #expect(reply.status == 200)
            #expect(ContinuousClock.now - start >= .milliseconds(300))
        }
    }

    @Test func faultsFilterByClientAndCountDown() async throws {
        try await withIdP { harness in
            try await harness.inject(["fault": "status", "status": 503, "client_id": "kc-admin", "count": 2])
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200)
            #expect(try await harness.token("kc-admin", Fixtures.adminSecret).status == 503)
            #expect(try await harness.form([("grant_type", "client_credentials")], headers: [Harness.basic("kc-admin", Fixtures.adminSecret)]).status == 503)
            #expect(try await harness.token("kc-admin", Fixtures.adminSecret).status == 200)
            #expect(try await harness.send(.GET, "/_cloak-idp/faults").body == "[]")
        }
    }

    @Test func probabilityOneAlwaysAndZeroNever() async throws {
        try await withIdP { harness in
            try await harness.inject(["fault": "status", "status": 500, "probability": .double(0)])
            for _ in 0..<5 { #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200) }
            #expect(try await harness.send(.DELETE, "/_cloak-idp/faults").status == 204)
            try await harness.inject(["fault": "status", "status": 500, "probability": .double(1), "route": "admin"])
            for _ in 0..<3 { #expect(try await harness.admin(.GET, "/admin/realms/r1/clients").status == 500) }
            #expect(try await harness.token("broker-svc", Fixtures.brokerSecret).status == 200, "route filter: admin only")
        }
    }

    /// `expires-in` rewrites the real answer; `slow-body` delivers all of it, late.
    @Test func expiresInAndSlowBodyFaultsChangeOnlyWhatTheySay() async throws {
        try await withIdP { harness in
            try await harness.inject(["fault": "expires-in", "seconds": .double(0.0001), "count": 1])
            let tiny = try #require(try await harness.token("broker-svc", Fixtures.brokerSecret).json)
            #expect(tiny["expires_in"] == .double(0.0001) && tiny["access_token"]?.stringValue != nil)
            try await harness.inject(["fault": "slow-body", "interval_ms": 1, "count": 1, "route": "discovery"])
            let slow = try await harness.send(.GET, "/realms/r1/.well-known/openid-configuration")
            #expect(slow.status == 200 && slow.json?["issuer"]?.stringValue?.hasSuffix("/realms/r1") == true, "\(slow.body)")
        }
    }

    @Test func badFaultDefinitionsAreRefused() async throws {
        try await withIdP { harness in
            for body in [#"{"fault":"explode"}"#, #"{"fault":"status","status":200}"#, #"{"fault":"reset","probability":2}"#, "nope",
                         #"{"fault":"expires-in"}"#, #"{"fault":"slow-body","interval_ms":"x"}"#] {
                let reply = try await harness.send(.POST, "/_cloak-idp/faults", headers: [("Content-Type", "application/json")], body: body)
                #expect(reply.status == 400, "\(body)")
            }
        }
    }

    @Test func countersByRouteStatusAndClientWithReset() async throws {
        try await withIdP { harness in
            _ = try await harness.token("broker-svc", Fixtures.brokerSecret)
            _ = try await harness.token("broker-svc", "wrong")
            _ = try await harness.token("nope", "x")
            _ = try await harness.send(.GET, "/realms/r1/protocol/openid-connect/certs")
            let stats = try #require(try await harness.send(.GET, "/_cloak-idp/stats").json)
            #expect(stats["total"] == 4)
            #expect(stats["by_route"]?["token"] == 3)
            #expect(stats["by_route"]?["certs"] == 1)
            #expect(stats["by_status"]?["200"] == 2)
            #expect(stats["by_status"]?["401"] == 2)
            #expect(stats["by_client"]?["broker-svc"] == 2)
            #expect(stats["by_client"]?["nope"] == 1)
            let entries = stats["entries"]?.arrayValue ?? []
            #expect(entries.contains(["route": "token", "method": "POST", "realm": "r1", "status": "401", "client_id": "broker-svc", "count": 1]))
            #expect(try await harness.send(.DELETE, "/_cloak-idp/stats").status == 204)
            #expect(try await harness.send(.GET, "/_cloak-idp/stats").json?["total"] == 0)
        }
    }

    @Test func clockOffsetMovesTokenTimes() async throws {
        try await withIdP { harness in
            let before = try #require(claims(of: try await harness.accessToken(of: "broker-svc"))?["iat"]?.intValue)
            let moved = try await harness.send(.POST, "/_cloak-idp/clock", headers: [("Content-Type", "application/json")], body: #"{"offset_seconds":3600}"#)
            #expect(moved.json?["offset_seconds"] == 3600)
            let after = try #require(claims(of: try await harness.accessToken(of: "broker-svc"))?["iat"]?.intValue)
            #expect(after - before >= 3600 && after - before < 3700)
            #expect(try await harness.send(.DELETE, "/_cloak-idp/clock").json?["offset_seconds"] == 0)
        }
    }

    @Test func controlsCanBeSwitchedOff() async throws {
        try await withIdP(options: ServerOptions(controlsEnabled: false)) { harness in
            let reply = try await harness.send(.GET, "/_cloak-idp/stats")
            #expect(reply.status == 404)
        }
    }
}
