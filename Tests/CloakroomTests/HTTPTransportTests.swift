import Foundation
import CloakroomTestSupport
import Synchronization
import Testing
import CloakroomHTTP
@testable import Cloakroom

/// The transport and its one retry loop against a real cloak-idp on 127.0.0.1 (and Python's
/// http.server for a redirect): what every token request, discovery, JWKS fetch and admin call
/// relies on.
@Suite struct HTTPTransportTests {
    /// Records every pause the loop asks for and takes none: the tests run without waiting.
    final class Pauses: Sendable {
        private let taken = Mutex<[Duration]>([])
        var all: [Duration] { taken.withLock { $0 } }
        var sleep: @Sendable (Duration) async throws -> Void { { pause in self.taken.withLock { $0.append(pause) } } }
    }

    static func discovery(_ idp: IdP) -> HTTPRequest {
        HTTPRequest(.GET, idp.issuer + "/.well-known/openid-configuration", headers: [HTTPHeader("Accept", "application/json")])
    }

    /// The judge the document fetches use, in miniature: 200 wins, 429 and 5xx are retried,
    /// any other answer or failure is final.
    static func judge(_ outcome: Result<HTTPReply, TransportFailure>) throws(TransportFailure) -> Verdict<HTTPReply> {
        switch outcome {
        case .success(let reply) where reply.status == 200: .success(reply)
        case .success(let reply) where reply.status == 429 || reply.status >= 500: .retry(problem: "HTTP \(reply.status)")
        case .success(let reply): throw .other("HTTP \(reply.status)")
        case .failure(let failure): throw failure
        }
    }

    @Test func retryAfterIsHonouredAndTheRetrySucceeds() async throws {
        let idp = try IdP()
        try await idp.fault(#"{"fault":"rate-limit","retry_after":3,"route":"discovery","count":1}"#)
        let pauses = Pauses()
        let transport = HTTPTransport()
        let reply = try await transport.send(RetryPolicy(deadline: .seconds(10), bodyLimit: 1 << 16, sleep: pauses.sleep),
                                             request: { () throws(TransportFailure) in Self.discovery(idp) },
                                             judge: Self.judge, giveUp: { .other("gave up after \($0.attempts): \($0.lastProblem)") })
        #expect(reply.status == 200 && reply.header("content-type")?.hasPrefix("application/json") == true)
        // The backoff alone would be 100–200 ms; the server asked for 3 s.
        #expect(pauses.all == [.seconds(3)])
        #expect(try await idp.requests("discovery") == 2)
        await transport.shutdown()
    }

    @Test func retryAfterIsCappedAtAnHour() {
        #expect(HTTPReply.retryAfter(" 7 ") == .seconds(7))
        #expect(HTTPReply.retryAfter("86400") == .seconds(3600))
        #expect(HTTPReply.retryAfter("-5") == .zero)
        #expect(HTTPReply.retryAfter("Wed, 21 Oct 2026 07:28:00 GMT") == nil)
        #expect(HTTPReply(status: 503, headers: [HTTPHeader("retry-after", "2")]).retryAfter == .seconds(2))
    }

    @Test func backoffIsJitteredExponentialAndCapped() {
        for attempt in 1...10 {
            let step = RetryPolicy.base * (1 << min(attempt - 1, RetryPolicy.maximumDoublings))
            let pause = RetryPolicy.backoff(after: attempt)
            #expect(pause >= step / 2 && pause <= step, "attempt \(attempt): \(pause)")
        }
        #expect(RetryPolicy.backoff(after: 50) <= .milliseconds(6400))
    }

    /// A 503 that never ends: the loop tries until the next pause would pass the deadline, and
    /// hands the caller the attempts made and the last problem for its own message. (An attempt
    /// cut short by the deadline is retryable here, as in every caller: on a loaded machine the
    /// last attempt may be the one the deadline ends.)
    @Test func aFailureThatLastsEndsAtTheDeadlineWithTheLastProblem() async throws {
        let idp = try IdP()
        try await idp.fault(#"{"fault":"status","status":503,"route":"discovery"}"#)
        let transport = HTTPTransport()
        let start = ContinuousClock.now
        await #expect {
            _ = try await transport.send(RetryPolicy(deadline: .seconds(4), bodyLimit: 1 << 16),
                                         request: { () throws(TransportFailure) in Self.discovery(idp) },
                                         judge: { (outcome: Result<HTTPReply, TransportFailure>) throws(TransportFailure) -> Verdict<HTTPReply> in
                                             if case .failure(.timedOut) = outcome { return .retry(problem: "timed out") }
                                             return try Self.judge(outcome)
                                         },
                                         giveUp: { .other("\($0.attempts) attempts, last: \($0.lastProblem)") })
        } throws: { error in
            guard case .other(let message) = error as? TransportFailure else { return false }
            return (message.hasSuffix("last: HTTP 503") || message.hasSuffix("last: timed out")) && !message.hasPrefix("1 ")
        }
        // Two cores shared with other suites: generous, yet far from a loop that ignores its deadline.
        #expect(ContinuousClock.now - start < .seconds(10))
        #expect(try await idp.requests("discovery") >= 2)
        await transport.shutdown()
    }

    /// When making the request ready (an admin call's bearer token, fetched through the vault)
    /// takes the whole deadline, nothing is sent, and the problem says so: not "no answer: is the
    /// server up", which once blamed an IdP that was never asked (a CI machine's slow start).
    @Test func aDeadlineSpentBeforeSendingIsNotBlamedOnTheServer() async throws {
        let idp = try IdP()
        let transport = HTTPTransport()
        await #expect {
            _ = try await transport.send(RetryPolicy(deadline: .milliseconds(200), bodyLimit: 1 << 16),
                                         request: { () throws(TransportFailure) in
                                             try? await Task.sleep(for: .milliseconds(300))
                                             return Self.discovery(idp)
                                         },
                                         judge: Self.judge,
                                         giveUp: { .other("\($0.attempts) attempts, last: \($0.lastProblem)") })
        } throws: { error in
            guard case .other(let message) = error as? TransportFailure else { return false }
            return message == "0 attempts, last: the deadline passed before the request could be sent"
        }
        #expect(try await idp.arrivals("discovery") == 0)
        await transport.shutdown()
    }

    /// What the judge throws is final: one request, however much time is left.
    @Test func aFinalVerdictIsNotRetried() async throws {
        let idp = try IdP()
        try await idp.fault(#"{"fault":"status","status":404,"route":"discovery"}"#)
        let transport = HTTPTransport()
        await #expect(throws: TransportFailure.other("HTTP 404")) {
            _ = try await transport.send(RetryPolicy(deadline: .seconds(10), bodyLimit: 1 << 16),
                                         request: { () throws(TransportFailure) in Self.discovery(idp) },
                                         judge: Self.judge, giveUp: { _ in .other("gave up") })
        }
        #expect(try await idp.requests("discovery") == 1)
        await transport.shutdown()
    }

    /// `.retryNow` (a new endpoint, a fresh token) goes again without a pause; `attempts: 1`
    /// stops after one `.retry`.
    @Test func retryNowSkipsTheBackoffAndAttemptsBoundsTheRest() async throws {
        let idp = try IdP()
        let pauses = Pauses()
        let transport = HTTPTransport()
        let calls = Mutex(0)
        let reply = try await transport.send(RetryPolicy(deadline: .seconds(30), bodyLimit: 1 << 16, sleep: pauses.sleep),
                                             request: { () throws(TransportFailure) in Self.discovery(idp) },
                                             judge: { outcome throws(TransportFailure) in
                                                 calls.withLock { $0 += 1; return $0 } == 1 ? .retryNow : try Self.judge(outcome)
                                             }, giveUp: { _ in .other("gave up") })
        #expect(reply.status == 200 && pauses.all.isEmpty && calls.withLock { $0 } == 2)

        try await idp.fault(#"{"fault":"status","status":503,"route":"discovery"}"#)
        await #expect(throws: TransportFailure.other("1 attempt")) {
            _ = try await transport.send(RetryPolicy(deadline: .seconds(30), bodyLimit: 1 << 16, attempts: 1, sleep: pauses.sleep),
                                         request: { () throws(TransportFailure) in Self.discovery(idp) },
                                         judge: Self.judge, giveUp: { .other("\($0.attempts) attempt") })
        }
        #expect(pauses.all.isEmpty)
        await transport.shutdown()
    }

    /// The body cap holds whatever the server announces; the failure names the limit.
    @Test func aBodyOverTheLimitIsTooLarge() async throws {
        let idp = try IdP()
        let transport = HTTPTransport()
        let outcome = await transport.exchange(Self.discovery(idp), until: .now + .seconds(30), upTo: 100)
        #expect(outcome.failure == .tooLarge(limit: 100))
        try await idp.fault(#"{"fault":"oversized","bytes":200000,"route":"discovery"}"#)
        #expect(await transport.exchange(Self.discovery(idp), until: .now + .seconds(30), upTo: 1 << 16).failure == .tooLarge(limit: 1 << 16))
        await transport.shutdown()
    }

    /// The deadline covers the body: a server that sends its head at once and then one byte a
    /// second does not outlast it (AsyncHTTPClient's own deadline stops at the head).
    @Test(arguments: [#"{"fault":"slow-body","interval_ms":1000"#, #"{"fault":"short-body","sent":10,"hold_ms":12000"#])
    func theDeadlineCoversADrippingOrStalledBody(fault: String) async throws {
        let idp = try IdP()
        try await idp.fault(fault + #","route":"discovery","count":1}"#)
        let transport = HTTPTransport()
        let start = ContinuousClock.now
        let outcome = await transport.exchange(Self.discovery(idp), until: .now + .seconds(1), upTo: 1 << 16)
        #expect(outcome.failure == .timedOut)
        #expect(ContinuousClock.now - start < .seconds(10), "took \(ContinuousClock.now - start) with a 1 s deadline")
        // The connection it was on is closed, not returned to the pool: the next request is whole.
        let next = await transport.exchange(Self.discovery(idp), until: .now + .seconds(30), upTo: 1 << 16)
        #expect((try? next.get())?.status == 200)
        await transport.shutdown()
        // Stopping cloak-idp waits out the held request: on a thread of its own, not the test pool's.
        await withCheckedContinuation { done in Thread { idp.stop(); done.resume() }.start() }
    }

    /// A redirect comes back as the answer it is; nothing is sent to where it points.
    @Test func aRedirectIsNotFollowed() async throws {
        let server = try StaticServer()
        try server.serve("/realms/r1/index.html", "{}")
        let transport = HTTPTransport()
        let reply = try await transport.exchange(HTTPRequest(.GET, server.baseURL + "/realms/r1"), until: .now + .seconds(30), upTo: 1 << 16).get()
        #expect(reply.status == 301)
        #expect(reply.header("Location")?.hasSuffix("/realms/r1/") == true)
        await transport.shutdown()
    }

    @Test func aClosedPortIsConnectionRefused() async throws {
        let idp = try IdP()
        let request = Self.discovery(idp)
        idp.stop()
        let transport = HTTPTransport()
        guard case .connectionRefused(let problem)? = await transport.exchange(request, until: .now + .seconds(30), upTo: 1 << 16).failure else {
            Issue.record("not refused")
            return
        }
        #expect(problem.contains("refused"), "\(problem)")
        await transport.shutdown()
    }

    /// A borrowed body (the token request's form, from sodium memory) arrives whole.
    @Test func aBorrowedBodyIsSentWhole() async throws {
        let idp = try IdP()
        let form = Array("grant_type=client_credentials&client_id=post-svc&client_secret=\(IdP.postSecret)".utf8)
        let request = HTTPRequest(.POST, idp.tokenURL, headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
                                  body: .borrowing(form))
        let transport = HTTPTransport()
        let reply = try await transport.exchange(request, until: .now + .seconds(30), upTo: 1 << 16).get()
        #expect(reply.status == 200, "\(String(decoding: reply.body, as: UTF8.self))")
        await transport.shutdown()
    }

    /// No client until the first request; shutdown releases it; the next request makes another.
    @Test func shutdownReleasesTheClientAndTheNextRequestMakesAnother() async throws {
        let idp = try IdP()
        let transport = HTTPTransport()
        #expect(!transport.isRunning)
        await transport.shutdown()  // nothing to shut: no client is made for it
        #expect(!transport.isRunning)
        #expect((try? await transport.exchange(Self.discovery(idp), until: .now + .seconds(30), upTo: 1 << 16).get())?.status == 200)
        #expect(transport.isRunning)
        await transport.shutdown()
        #expect(!transport.isRunning)
        #expect((try? await transport.exchange(Self.discovery(idp), until: .now + .seconds(30), upTo: 1 << 16).get())?.status == 200)
        await transport.shutdown()
    }

    /// The broker's transport starts on a miss only: a token from memory or the vault's cache
    /// makes no HTTP client, and `shutdown()` leaves the broker usable.
    @Test func aCachedTokenStartsNoClient() async throws {
        let idp = try IdP()
        let fixture = try Fixture()
        try fixture.vault.addRealm(Name("r1"), RealmSettings(tokenURL: idp.tokenURL))
        try fixture.vault.addClient(ClientRef("r1/basic"), ClientSettings(clientID: "broker-svc"), secret: ClientSecret(IdP.basicSecret))
        var configuration = TokenBroker.Configuration()
        configuration.transport = HTTPTransport()
        let broker = try TokenBroker(vault: fixture.path, credentials: [.keyFile(fixture.keyFile)], configuration: configuration)
        #expect(try await broker.token(for: "r1/basic").source == .idp)
        #expect(configuration.transport.isRunning)
        await broker.shutdown()
        #expect(!configuration.transport.isRunning)
        #expect(try await broker.token(for: "r1/basic").source == .memory)
        let other = try TokenBroker(vault: fixture.path, credentials: [.keyFile(fixture.keyFile)], configuration: configuration)
        #expect(try await other.token(for: "r1/basic").source == .cache)
        #expect(!configuration.transport.isRunning)
        #expect(try await other.token(for: "r1/basic", refresh: true).source == .idp)
        #expect(configuration.transport.isRunning)
        await other.shutdown()
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let failure) = self { failure } else { nil }
    }
}
