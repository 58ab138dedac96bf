import Foundation
import CloakroomTestSupport
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

extension Sandbox {
    /// A vault with realm `r1` at `idp` and clients `r1/basic` and `r1/post`.
    static func tokens(_ idp: IdP, caFile: String? = nil) throws -> Sandbox {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL] + (caFile.map { ["--ca-file", $0] } ?? []))
        try sandbox.ok("client", "add", "--no-verify", "r1/basic", "--client-id", "broker-svc", "--secret-stdin", stdin: IdP.basicSecret)
        try sandbox.ok("client", "add", "--no-verify", "r1/post", "--client-id", "post-svc", "--auth", "post", "--secret-stdin", stdin: IdP.postSecret)
        return sandbox
    }

    @discardableResult
    func ok(contentsOf arguments: [String], stdin: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) throws -> Outcome {
        let outcome = try run(arguments, stdin: stdin)
        #expect(outcome.status == 0, "cloak \(arguments.joined(separator: " ")): \(outcome)", sourceLocation: sourceLocation)
        return outcome
    }

    /// `cloak token REF --format json`, parsed.
    func tokenJSON(_ ref: String, _ extra: [String] = [], environment: [String: String] = [:]) throws -> (Outcome, [String: Any]) {
        let outcome = try run(["token", ref, "--format", "json"] + extra, environment: environment)
        let object = (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]) ?? [:]
        return (outcome, object)
    }
}
