import Foundation
@testable import CloakroomAgent
import Cloakroom
import CloakroomTestSupport
import Testing

/// The agent's policy file and its rules, and how a request's path and query are read.
struct AgentPolicyTests {
    private func load(_ json: String) throws -> AgentPolicy {
        let directory = TemporaryDirectory()
        let path = directory.file("policy.json")
        try json.write(toFile: path, atomically: true, encoding: .utf8)
        return try AgentPolicy.load(from: path)
    }

    @Test func rulesGrantOperationsOnClientGlobsToUsersAndGroups() throws {
        let policy = try load(#"""
            {"rules": [
              {"users": ["root", 1000], "allow": ["token", "health"]},
              {"groups": [2000], "clients": ["prod/orders-*"], "allow": ["token"]}
            ]}
            """#)
        let orders = try ClientRef("prod/orders-eu"), billing = try ClientRef("prod/billing")
        #expect(policy.allows(Peer(uid: 0, gid: 0, pid: 1), .token, client: billing), "root by name")
        #expect(policy.allows(Peer(uid: 1000, gid: 5, pid: 1), .health))
        #expect(!policy.allows(Peer(uid: 1000, gid: 5, pid: 1), .clients))
        #expect(policy.allows(Peer(uid: 4242, gid: 2000, pid: 1), .token, client: orders))
        #expect(!policy.allows(Peer(uid: 4242, gid: 2000, pid: 1), .token, client: billing))
        #expect(!policy.allows(Peer(uid: 4242, gid: 2001, pid: 1), .token, client: orders))
        #expect(policy.admitsOthers(than: 0))
        #expect(!AgentPolicy.ownerOnly(uid: 7).admitsOthers(than: 7))
        #expect(!AgentPolicy.ownerOnly(uid: 7).allows(Peer(uid: 8, gid: 7, pid: 1), .token, client: orders))
    }

    @Test(arguments: [
        (#"{"rules": [{"users": [1], "allow": ["rotate-everything"]}]}"#, "cannot allow"),
        (#"{"rules": [{"users": [1], "allow": []}]}"#, "lists nothing"),
        (#"{"rules": [{"allow": ["token"]}]}"#, "at least one user or group"),
        (#"{"rules": [{"users": ["no-such-user-here"], "allow": ["token"]}]}"#, "no user"),
        (#"{"rules": [{"users": [1], "clients": ["orders"], "allow": ["token"]}]}"#, "has no realm"),
        (#"{"rules": [{"user": [1], "allow": ["token"]}]}"#, "unknown field"),
        (#"{"rules": [{"users": [-1], "allow": ["token"]}]}"#, "name or a numeric id"),
        (#"[{"users": [1]}]"#, "not a policy"),
    ])
    func aPolicyThatCannotMeanOneThingIsRefused(json: String, complaint: String) throws {
        #expect { try load(json) } throws: { error in
            (error as? VaultError)?.code == .invalidInput && "\(error)".contains(complaint)
        }
    }

    @Test func requestsAreReadAsCurlAndBrowsersSendThem() {
        let request = AgentService.Request(method: "GET", target: "/v1/tokens/prod/orders?scope=a+b&scope=c%20d&audience=https%3A%2F%2Fapi&min_ttl=60")
        #expect(request.segments == ["v1", "tokens", "prod", "orders"])
        #expect(request.parameters("scope") == ["a b", "c d"])
        #expect(request.parameter("audience") == "https://api")
        #expect(request.parameter("min_ttl") == "60")
        #expect(AgentService.Request(method: "GET", target: "/v1/tokens/prod/or%2Fders").segments.last == "or/ders",
                "an encoded slash stays in its segment, and then fails as a name")
        #expect(AgentService.Request(method: "GET", target: "/v1/x?bad=%zz").parameter("bad") == "%zz")
    }
}

/// The agent's TCP consumers in the vault: a credential is known by its digest, its row by a MAC
/// that a rekey re-makes, and an edited row is refused.
struct AgentConsumerTests {
    @Test func aConsumerSurvivesARekeyAndAnEditedRowDoesNot() throws {
        let fixture = try Fixture()
        let credential = try fixture.vault.addConsumer(Name("box"), clients: ["prod/*"])
        #expect(try fixture.vault.consumer(presenting: credential)?.clients == ["prod/*"])
        #expect(try fixture.vault.consumer(presenting: credential + "0") == nil)
        #expect(throws: VaultError.self) { try fixture.vault.addConsumer(Name("box"), clients: ["prod/*"]) }

        let (rekeyed, _) = try fixture.vault.rekey()
        #expect(try rekeyed.consumer(presenting: credential)?.name == Name("box"), "the rekey re-made the consumer's MAC")
        #expect(try fixture.vault.consumer(presenting: credential) == nil, "the old key's MAC no longer verifies")

        _ = try RawVault.execute(fixture.path, "UPDATE agent_consumers SET clients = '*/*'")
        #expect(try rekeyed.consumer(presenting: credential) == nil, "a widened row is refused")
        _ = try RawVault.execute(fixture.path, "UPDATE agent_consumers SET clients = 'prod/*'")
        try rekeyed.removeConsumer(Name("box"))
        #expect(try rekeyed.consumer(presenting: credential) == nil)
        #expect(try rekeyed.vault.consumers().isEmpty)
    }
}
