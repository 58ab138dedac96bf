/// How one call — a token request, a document fetch, an admin call — is retried: within one
/// deadline over every attempt (each one's connection, head and body included), with jittered
/// exponential backoff, honouring `Retry-After`, and reading at most `bodyLimit` bytes of an answer.
///
/// What is worth retrying is not decided here but by the caller's `judge` (see `HTTPTransport
/// .send`): a token request never retries a credential error, an admin POST never retries what
/// may have taken effect.
package struct RetryPolicy: Sendable {
    /// The first pause, before jitter; each further one doubles, up to `base << maximumDoublings`.
    ///
    /// One base for every call. 200 ms, the token path's since the start: an identity provider
    /// that answers 503 or 429 is overloaded, and the first retry landing 100–200 ms later gives it
    /// room while staying far inside a 10 s deadline (about six attempts fit). The admin API used
    /// 100 ms for Keycloak's optimistic-lock conflicts (409), but those are rare within one
    /// rotation (each client is written by one process at a time) and rotation is not
    /// latency-bound, so the admin calls lose at most ~100 ms on a retry.
    package static let base = Duration.milliseconds(200)
    /// 200 ms << 5: no pause longer than 6.4 s (before `Retry-After`), so a call with time left
    /// keeps trying.
    package static let maximumDoublings = 5

    /// How long the whole call may take, retries and pauses included.
    package var deadline: Duration
    /// The most bytes of an answer's body read; a longer one fails as `.tooLarge`.
    package var bodyLimit: Int
    /// 1 for a single attempt (what `realm add` asks of an issuer).
    package var attempts: Int
    /// Pauses between attempts; tests replace it to run without waiting.
    package var sleep: @Sendable (Duration) async throws -> Void

    package init(
        deadline: Duration, bodyLimit: Int, attempts: Int = .max,
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.deadline = deadline
        self.bodyLimit = bodyLimit
        self.attempts = attempts
        self.sleep = sleep
    }

    /// The pause after failed attempt number `attempt` (from 1): the exponential step with
    /// "equal jitter" — between half and all of it — so that callers who failed together do not
    /// come back together, yet none comes back at once.
    package static func backoff(after attempt: Int) -> Duration {
        let step = base * (1 << min(max(attempt - 1, 0), maximumDoublings))
        return step * Double.random(in: 0.5...1.0)
    }
}

/// What the caller of `HTTPTransport.send` made of one attempt's outcome; to end the call with an
/// error, its `judge` throws.
package enum Verdict<Value> {
    case success(Value)
    /// Worth another attempt after the backoff (and after the answer's `Retry-After`, if longer);
    /// `problem` is what to report if none succeeds in time.
    case retry(problem: String)
    /// Worth another attempt at once: the next request differs (a rediscovered endpoint, a fresh
    /// bearer token). The caller sees to it that this cannot repeat forever.
    case retryNow
}

/// Why `HTTPTransport.send` stopped without a success, for the caller's own message.
package struct GiveUp: Sendable {
    /// Attempts sent, this one included: 0 when the deadline passed before the first could be.
    package var attempts: Int
    /// The `problem` of the last `.retry`.
    package var lastProblem: String
    /// What the pause threw when the call was cancelled; `nil` when the next attempt would not
    /// fit in the deadline (or no attempt was left).
    package var cancellation: (any Error)?
}

extension HTTPTransport {
    /// Makes attempts until `judge` accepts one or throws, or the deadline or `policy.attempts` is
    /// reached (then throws what `giveUp` makes of it).
    ///
    /// - Parameters:
    ///   - request: called before each attempt: a bearer token or an endpoint may change between them.
    ///   - judge: sorts each outcome — an answer (any status; a redirect is not followed) or a
    ///     `TransportFailure` — into success, retry, or an error it throws.
    package func send<Value, Failure: Error>(
        _ policy: RetryPolicy,
        request: () async throws(Failure) -> HTTPRequest,
        judge: (Result<HTTPReply, TransportFailure>) async throws(Failure) -> Verdict<Value>,
        giveUp: (GiveUp) -> Failure
    ) async throws(Failure) -> Value {
        let end = ContinuousClock.now + policy.deadline
        var attempt = 0
        var lastProblem: String?
        while true {
            let request = try await request()
            // Making the request ready (a bearer token, fetched through the vault) may itself
            // take the time: then nothing was sent, and "no answer" would blame a server that
            // was never asked. After a retry, that retry's problem is the story (a pause that
            // overran the deadline on a loaded machine is not news).
            guard ContinuousClock.now < end else {
                throw giveUp(GiveUp(attempts: attempt, lastProblem: lastProblem
                                    ?? "the deadline passed before the \(attempt == 0 ? "request" : "next attempt") could be sent"))
            }
            attempt += 1
            let outcome = await exchange(request, until: end, upTo: policy.bodyLimit)
            let problem: String
            switch try await judge(outcome) {
            case .success(let value):
                return value
            case .retryNow:
                continue
            case .retry(let why):
                problem = why
            }
            lastProblem = problem
            let retryAfter = (try? outcome.get())?.retryAfter ?? .zero
            let wait = max(RetryPolicy.backoff(after: attempt), retryAfter)
            guard attempt < policy.attempts, ContinuousClock.now + wait < end else {
                throw giveUp(GiveUp(attempts: attempt, lastProblem: problem))
            }
            do {
                try await policy.sleep(wait)
            } catch {
                throw giveUp(GiveUp(attempts: attempt, lastProblem: problem, cancellation: error))
            }
        }
    }
}
