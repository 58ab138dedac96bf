// Creates a vault of many clients for benchmarks: `cloak-bench-fixture VAULT KEYFILE CLIENTS REALMS`.
// Every client gets its own fake secret, sealed as `cloak client add` would seal it.
import Cloakroom

#if canImport(Glibc)
import Glibc
#endif

let arguments = CommandLine.arguments
guard arguments.count == 5, let clients = Int(arguments[3]), let realms = Int(arguments[4]), clients > 0, realms > 0 else {
    print("usage: cloak-bench-fixture VAULT KEYFILE CLIENTS REALMS")
    exit(2)
}
do {
    let vault = try Vault.create(at: arguments[1], firstKeyslot: .keyFile(KeyFile.create(at: arguments[2])))
    for realm in 0..<realms {
        try vault.addRealm(Name("realm\(realm)"), RealmSettings(tokenURL: "https://idp.example.test/realms/realm\(realm)/protocol/openid-connect/token"))
    }
    for client in 0..<clients {
        let ref = ClientRef(realm: try Name("realm\(client % realms)"), name: try Name("client\(client)"))
        try vault.addClient(ref, ClientSettings(clientID: "client-\(client)", scopes: ["read"]), secret: ClientSecret("fake-bench-secret-\(client)"))
    }
} catch {
    print("cloak-bench-fixture: \(error)")
    exit(1)
}
