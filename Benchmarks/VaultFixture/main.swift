// Benchmark helper for scripts/bench-vault.sh and scripts/bench-token.sh.
//
//   cloak-bench-fixture VAULT KEYFILE CLIENTS REALMS
//       creates a vault of CLIENTS clients in REALMS realms, each with its own fake secret
//   cloak-bench-fixture hit VAULT KEYFILE REALM/NAME CALLS
//       times CALLS in-process cache hits through TokenBroker.token(for:) (the vault must
//       already hold a fresh token for REALM/NAME) and prints the median and p99 per call
import Cloakroom

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
do {
    if arguments.count == 6, arguments[1] == "hit", let calls = Int(arguments[5]), calls > 0 {
        let broker = try TokenBroker(vault: arguments[2], credentials: [.keyFile(KeyFile.load(from: arguments[3]))])
        let client = arguments[4]
        guard try await broker.token(for: client).source != .idp else {
            print("cloak-bench-fixture: \(client) had no cached token; run `cloak token \(client)` first")
            exit(1)
        }
        // Timed off the main actor: top-level code runs on it, and each call from there would hop
        // to the global executor and back, which is the harness's cost, not the broker's.
        var samples = try await Task.detached {
            var samples: [Duration] = []
            samples.reserveCapacity(calls)
            let clock = ContinuousClock()
            for _ in 0..<calls {
                let start = clock.now
                let grant = try await broker.token(for: client)
                samples.append(clock.now - start)
                precondition(grant.source == .memory)
            }
            return samples
        }.value
        samples.sort()
        func micro(_ d: Duration) -> Double { Double(d.components.attoseconds) / 1e12 + Double(d.components.seconds) * 1e6 }
        print("in-process cache hit over \(calls) calls: median \(micro(samples[calls / 2])) µs, p99 \(micro(samples[calls * 99 / 100])) µs")
    } else if arguments.count == 5, let clients = Int(arguments[3]), let realms = Int(arguments[4]), clients > 0, realms > 0 {
        let vault = try Vault.create(at: arguments[1], firstKeyslot: .keyFile(KeyFile.create(at: arguments[2])))
        for realm in 0..<realms {
            try vault.addRealm(Name("realm\(realm)"), RealmSettings(tokenURL: "https://idp.example.test/realms/realm\(realm)/protocol/openid-connect/token"))
        }
        for client in 0..<clients {
            let ref = ClientRef(realm: try Name("realm\(client % realms)"), name: try Name("client\(client)"))
            try vault.addClient(ref, ClientSettings(clientID: "client-\(client)", scopes: ["read"]), secret: ClientSecret("fake-bench-secret-\(client)"))
        }
    } else {
        print("usage: cloak-bench-fixture VAULT KEYFILE CLIENTS REALMS | hit VAULT KEYFILE REALM/NAME CALLS")
        exit(2)
    }
} catch {
    print("cloak-bench-fixture: \(error)")
    exit(1)
}
