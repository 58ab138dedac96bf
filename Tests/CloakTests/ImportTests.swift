import Foundation
import CloakroomTestSupport
import Testing

/// `cloak import dotenv` against a real cloak-idp: each way a `.env` file names a credential,
/// verification before anything is written, all-or-nothing batches, and files that do not parse.
@Suite(.serialized) struct ImportTests {
    static let ordersSecret = "fake-imp-orders-0000"
    static let billingSecret = "fake-imp-billing+/%&=0000"
    static let secrets = [ordersSecret, billingSecret, "fake-imp-wrong-0000"]

    static let configuration = """
        {"realms":[{"realm":"r1","clients":[
          {"clientId":"orders-svc","secret":"\(ordersSecret)"},
          {"clientId":"billing-svc","secret":"\(billingSecret)"}]}]}
        """

    /// A vault with nothing in it yet.
    static func sandbox() throws -> Sandbox {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        return sandbox
    }

    /// Writes `text` as `name` in the sandbox and returns its path.
    static func file(_ sandbox: Sandbox, _ name: String, _ text: String) throws -> String {
        let path = sandbox.directory.file(name)
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func expectNoSecrets(_ outcome: Outcome, sourceLocation: SourceLocation = #_sourceLocation) {
        for secret in secrets + ["fake-"] {
            #expect(!outcome.stdout.contains(secret) && !outcome.stderr.contains(secret), "a value leaked: \(outcome)", sourceLocation: sourceLocation)
        }
    }

    static func json(_ outcome: Outcome) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any]) ?? [:]
    }

    @Test func oneCredentialIsImportedVerifiedAndListedForDeletion() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "app/.env", """
            # orders service
            DATABASE_URL=postgres://localhost/orders
            export TOKEN_URL="\(idp.baseURL)/realms/r1/protocol/openid-connect/token"
            CLIENT_ID=orders-svc   # the service account
            CLIENT_SECRET='\(Self.ordersSecret)'

            """)
        let imported = try sandbox.ok("import", "dotenv", env, "--as", "r1/orders")
        Self.expectNoSecrets(imported)
        #expect(imported.stdout.contains("r1/orders") && imported.stdout.contains("imported, verified"), "\(imported)")
        #expect(imported.stdout.contains("You can now delete these lines from \(env):\n  3  TOKEN_URL\n  4  CLIENT_ID\n  5  CLIENT_SECRET\n"), "\(imported)")
        #expect(imported.stderr.contains("created realm r1"), "\(imported)")
        #expect(try await idp.tokenRequests() == 1, "one verification request")

        // The realm came from the file, and the stored secret works.
        let realm = try sandbox.ok("realm", "show", "r1", "--json")
        #expect(realm.stdout.contains("\"token_url\": \"\(idp.baseURL)/realms/r1/protocol/openid-connect/token\""), "\(realm)")
        let (token, json) = try sandbox.tokenJSON("r1/orders")
        #expect(token.status == 0 && json["source"] as? String == "idp", "\(token)")

        // The audit log says where it came from, never what.
        let log = try sandbox.ok("log", "--client", "r1/orders", "--json")
        Self.expectNoSecrets(log)
        #expect(log.stdout.contains("\"action\": \"import\"") && log.stdout.contains("CLIENT_SECRET line 5"), "\(log)")

        // Again: already in the vault, nothing written, and the lines are still redundant.
        let before = try sandbox.contents
        let again = try sandbox.ok("import", "dotenv", env, "--as", "r1/orders")
        #expect(again.stdout.contains("already in the vault") && again.stdout.contains("5  CLIENT_SECRET"), "\(again)")
        #expect(try sandbox.contents == before)
    }

    /// Each way of naming the endpoint and the clients, imported and then used for a token.
    @Test(arguments: [
        ("keycloak url and realm", "KEYCLOAK_URL=BASE/\nKEYCLOAK_REALM=r1\nKEYCLOAK_CLIENT_ID=orders-svc\nKEYCLOAK_CLIENT_SECRET=ORDERS\n", [], ["r1/orders-svc"]),
        ("keycloak url with the realm in it", "KEYCLOAK_SERVER_URL=BASE/realms/r1\nOAUTH_CLIENT_ID=orders-svc\nOAUTH_CLIENT_SECRET=ORDERS\n", ["--as", "r1"], ["r1/orders-svc"]),
        ("oidc issuer", "OIDC_ISSUER=BASE/realms/r1\nCLIENT_ID=orders-svc\nCLIENT_SECRET=ORDERS\n", ["--as", "r1/o"], ["r1/o"]),
        ("prefixed pairs", "TOKEN_URL=BASE/realms/r1/protocol/openid-connect/token\nORDERS_CLIENT_ID=orders-svc\nORDERS_CLIENT_SECRET=ORDERS\nBILLING_API_CLIENT_ID=billing-svc\nBILLING_API_CLIENT_SECRET=\"BILLING\"\n",
         ["--as", "team"], ["team/orders", "team/billing-api"]),
        ("prefixed token url", "ORDERS_TOKEN_URL=BASE/realms/r1/protocol/openid-connect/token\r\nORDERS_CLIENT_ID=orders-svc\r\nORDERS_CLIENT_SECRET=ORDERS\r\n", [], ["r1/orders"]),
    ] as [(String, String, [String], [String])])
    func everyVariantImportsAndGivesATokenAfterwards(name: String, text: String, arguments: [String], refs: [String]) async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "vars.env", text.replacingOccurrences(of: "BASE", with: idp.baseURL)
            .replacingOccurrences(of: "ORDERS\n", with: Self.ordersSecret + "\n").replacingOccurrences(of: "ORDERS\r", with: Self.ordersSecret + "\r")
            .replacingOccurrences(of: "\"BILLING\"", with: "\"\(Self.billingSecret)\""))
        let imported = try sandbox.run(["import", "dotenv", env, "--json"] + arguments)
        #expect(imported.status == 0, "\(name): \(imported)")
        Self.expectNoSecrets(imported)
        let clients = (Self.json(imported)["clients"] as? [[String: Any]] ?? []).compactMap { $0["client"] as? String }
        #expect(clients == refs, "\(name): \(imported)")
        #expect((Self.json(imported)["redundant_lines"] as? [Any])?.isEmpty == false)
        for ref in refs {
            let (token, json) = try sandbox.tokenJSON(ref)
            #expect(token.status == 0 && json["source"] as? String == "idp", "\(ref): \(token)")
        }
    }

    /// One refused credential among several: exit 11, each refusal named by file and line,
    /// and the vault exactly as before.
    @Test func aRejectedCredentialImportsNothing() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "services.env", """
            TOKEN_URL=\(idp.tokenURL)
            ORDERS_CLIENT_ID=orders-svc
            ORDERS_CLIENT_SECRET=\(Self.ordersSecret)
            BILLING_CLIENT_ID=billing-svc
            BILLING_CLIENT_SECRET=fake-imp-wrong-0000
            GHOST_CLIENT_ID=nobody
            GHOST_CLIENT_SECRET=fake-imp-wrong-0000
            """)
        let before = try sandbox.contents
        let refused = try sandbox.run(["import", "dotenv", env, "--as", "r1"])
        #expect(refused.status == 11, "\(refused)")
        #expect(refused.stderr.contains("\(env):5: the identity provider rejected BILLING_CLIENT_ID/BILLING_CLIENT_SECRET"), "\(refused)")
        #expect(refused.stderr.contains("\(env):7:") && refused.stderr.contains("nothing was imported"), "\(refused)")
        #expect(refused.stdout.isEmpty)
        Self.expectNoSecrets(refused)
        #expect(try sandbox.contents == before, "nothing half-imported")
        #expect(try await idp.tokenRequests() == 3, "each credential asked once, none retried")
    }

    /// A file that also holds another provider's OAuth pair: --skip leaves it alone (and in the
    /// file), --only takes just the named credential.
    @Test func otherProvidersPairsCanBeLeftAlone() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "app.env", """
            TOKEN_URL=\(idp.tokenURL)
            ORDERS_CLIENT_ID=orders-svc
            ORDERS_CLIENT_SECRET=\(Self.ordersSecret)
            GITHUB_CLIENT_ID=gh-app
            GITHUB_CLIENT_SECRET=fake-imp-wrong-0000
            """)
        let refused = try sandbox.run(["import", "dotenv", env, "--as", "r1"])
        #expect(refused.status == 11, "the GitHub pair is not the IdP's")
        #expect(refused.stderr.contains("leave it with --skip GITHUB"), "the message names the way out (issue 13, item 19): \(refused)")
        let skipped = try sandbox.run(["import", "dotenv", env, "--as", "r1", "--skip", "github"])
        #expect(skipped.status == 0, "\(skipped)")
        Self.expectNoSecrets(skipped)
        #expect(!skipped.stdout.contains("GITHUB"), "its lines stay in the file: \(skipped)")
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
        #expect(try await idp.tokenRequests() == 4, "two checks in the refused import, one verify, one token")

        let other = try Self.sandbox()
        let only = try other.run(["import", "dotenv", env, "--as", "r1", "--only", "ORDERS"])
        #expect(only.status == 0, "\(only)")
        #expect(try other.ok("client", "list").stdout.contains("r1/orders"))
    }

    @Test func noVerifyStoresWithoutAskingTheIdP() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, ".env", "TOKEN_URL=\(idp.tokenURL)\nCLIENT_ID=billing-svc\nCLIENT_SECRET=\(Self.billingSecret)\n")
        let imported = try sandbox.ok("import", "dotenv", env, "--no-verify")
        #expect(imported.stdout.contains("r1/billing-svc") && imported.stdout.contains("imported, not verified"), "\(imported)")
        #expect(imported.stdout.contains("were not verified"))
        Self.expectNoSecrets(imported)
        #expect(try await idp.tokenRequests() == 0)
        let log = try sandbox.ok("log", "--client", "r1/billing-svc")
        #expect(log.stdout.contains("not verified"), "\(log)")
        #expect(try sandbox.tokenJSON("r1/billing-svc").0.status == 0)
    }

    /// A batch is all or nothing: one bad file stops every file; fixed, all go in at once.
    @Test func batchImportsEveryEnvFileAllOrNothing() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        let directory = sandbox.directory.file("deploy")
        let orders = try Self.file(sandbox, "deploy/orders.env", "TOKEN_URL=\(idp.tokenURL)\nCLIENT_ID=orders-svc\nCLIENT_SECRET=\(Self.ordersSecret)\n")
        // The same credential again in .env.local: one client, both files' lines redundant.
        let local = try Self.file(sandbox, "deploy/.env.local", "export TOKEN_URL=\(idp.tokenURL)\nexport CLIENT_ID=orders-svc\nexport CLIENT_SECRET=\(Self.ordersSecret)\n")
        let billing = try Self.file(sandbox, "deploy/.env", "TOKEN_URL=\(idp.tokenURL)\nBILLING_CLIENT_ID=billing-svc\nBILLING_CLIENT_SECRET=fake-imp-wrong-0000\n")
        _ = try Self.file(sandbox, "deploy/.env.example", "CLIENT_ID=changeme\nCLIENT_SECRET=changeme\n")
        try FileManager.default.createSymbolicLink(atPath: directory + "/link.env", withDestinationPath: orders)

        let before = try sandbox.contents
        let refused = try sandbox.run(["import", "dotenv", "--batch", directory, "--as", "r1"])
        #expect(refused.status == 11 && refused.stderr.contains("\(billing):3:"), "\(refused)")
        #expect(refused.stderr.contains("link.env is a symbolic link and was skipped"), "\(refused)")
        #expect(try sandbox.contents == before)
        Self.expectNoSecrets(refused)

        try "TOKEN_URL=\(idp.tokenURL)\nBILLING_CLIENT_ID=billing-svc\nBILLING_CLIENT_SECRET=\(Self.billingSecret)\n".write(toFile: billing, atomically: true, encoding: .utf8)
        let imported = try sandbox.ok("import", "dotenv", "--batch", directory, "--as", "r1")
        Self.expectNoSecrets(imported)
        #expect(imported.stdout.contains("r1/billing ") && imported.stdout.contains("r1/orders-svc "), "\(imported)")
        for file in [billing, local, orders] {
            #expect(imported.stdout.contains("You can now delete these lines from \(file):"), "\(file): \(imported)")
        }
        #expect(!imported.stdout.contains("example"))
        #expect(try sandbox.ok("client", "list", "--json").stdout.components(separatedBy: "\"client\":").count == 3)
    }

    @Test func conflictsWithTheVaultChangeNothing() async throws {
        let idp = try IdP(configuration: Self.configuration)
        let sandbox = try Self.sandbox()
        try sandbox.ok(contentsOf: ["realm", "add", "r1", "--token-url", idp.tokenURL])
        try sandbox.ok(contentsOf: ["client", "add", "--no-verify", "r1/orders", "--client-id", "orders-svc", "--secret-stdin"], stdin: Self.ordersSecret)
        let before = try sandbox.contents

        let elsewhere = try Self.file(sandbox, "a.env", "TOKEN_URL=https://sso.example.test/realms/r1/protocol/openid-connect/token\nCLIENT_ID=billing-svc\nCLIENT_SECRET=\(Self.billingSecret)\n")
        let otherIdP = try sandbox.run(["import", "dotenv", elsewhere])
        #expect(otherIdP.status == 4 && otherIdP.stderr.contains("another identity provider"), "\(otherIdP)")

        let changed = try Self.file(sandbox, "b.env", "CLIENT_ID=orders-svc\nCLIENT_SECRET=fake-imp-wrong-0000\n")
        let differentSecret = try sandbox.run(["import", "dotenv", changed, "--as", "r1/orders"])
        #expect(differentSecret.status == 4 && differentSecret.stderr.contains("with another secret"), "\(differentSecret)")

        let renamed = try sandbox.run(["import", "dotenv", changed, "--as", "r1/orders-again"])
        #expect(renamed.status == 4 && renamed.stderr.contains("is in the vault already as r1/orders"), "\(renamed)")

        let noRealm = try Self.file(sandbox, "c.env", "CLIENT_ID=x\nCLIENT_SECRET=fake-imp-wrong-0000\n")
        let missing = try sandbox.run(["import", "dotenv", noRealm, "--as", "nowhere/x"])
        #expect(missing.status == 2 && missing.stderr.contains("\(noRealm):1: there is no realm nowhere"), "\(missing)")

        for outcome in [otherIdP, differentSecret, renamed, missing] {
            Self.expectNoSecrets(outcome)
            #expect(outcome.stdout.isEmpty)
        }
        #expect(try sandbox.contents == before)
    }

    @Test func anUnreachableIdPImportsNothing() throws {
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, ".env", "TOKEN_URL=http://127.0.0.1:9/realms/r1/protocol/openid-connect/token\nCLIENT_ID=o\nCLIENT_SECRET=\(Self.ordersSecret)\n")
        let before = try sandbox.contents
        let outcome = try sandbox.run(["import", "dotenv", env], environment: ["CLOAK_DEADLINE": "1"])
        #expect(outcome.status == 12 && outcome.stderr.contains("nothing was imported"), "\(outcome)")
        #expect(try sandbox.contents == before)
    }

    /// The parser's malformed cases, through the binary: exit 2, the file and line named, no
    /// value shown, nothing written, no crash.
    @Test(arguments: DotEnvCorpus.malformed)
    func malformedFilesAreRefusedNamingTheLine(text: String, line: Int?) throws {
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "bad.env", text)
        let before = try sandbox.contents
        let outcome = try sandbox.run(["import", "dotenv", env, "--as", "r1/x", "--no-verify"])
        #expect(outcome.status == 2, "\(outcome)")
        #expect(outcome.stderr.hasPrefix("cloak: \(env)" + (line.map { ":\($0): " } ?? ": ")), "\(outcome)")
        #expect(outcome.stdout.isEmpty)
        Self.expectNoSecrets(outcome)
        #expect(try sandbox.contents == before)
    }

    @Test func usageMistakesAreExplained() throws {
        let sandbox = try Self.sandbox()
        let env = try Self.file(sandbox, "two.env", "TOKEN_URL=https://sso.example.test/realms/r1/protocol/openid-connect/token\nA_CLIENT_ID=a\nA_CLIENT_SECRET=fake-1\nB_CLIENT_ID=b\nB_CLIENT_SECRET=fake-2\n")
        let named = try sandbox.run(["import", "dotenv", env, "--as", "r1/one"])
        #expect(named.status == 2 && named.stderr.contains("cannot all be named one"), "\(named)")
        let both = try sandbox.run(["import", "dotenv", env, "--batch", sandbox.directory.path])
        #expect(both.status == 2 && both.stderr.contains("give one .env file, or --batch DIR"), "\(both)")
        let nothing = try Self.file(sandbox, "none.env", "DATABASE_URL=postgres://localhost/x\nWEB_CLIENT_ID=web\n")
        let empty = try sandbox.run(["import", "dotenv", nothing, "--as", "r1"])
        #expect(empty.status == 2 && empty.stderr.contains("no client credentials found"), "\(empty)")
        #expect(empty.stderr.contains("none.env:2: WEB_CLIENT_ID has no client secret beside it"), "\(empty)")
        let absent = try sandbox.run(["import", "dotenv", sandbox.directory.file("absent.env")])
        #expect(absent.status == 3, "\(absent)")
        for outcome in [named, both, empty, absent] { Self.expectNoSecrets(outcome) }
    }
}

/// Malformed files for the CLI (the full corpus, with valid cases, is in CloakroomTests/DotEnvTests).
enum DotEnvCorpus {
    static let malformed: [(String, Int?)] = [
        ("TOKEN_URL=https://x.example.test/t\nCLIENT_SECRET=\"fake-open\nCLIENT_ID=x\n", 2),
        ("CLIENT_SECRET='fake-open", 1),
        ("A=\"fake\"x\n", 1),
        ("1A=fake\n", 1),
        ("A=fake\nfake-secret-value with blanks\n", 2),
        ("A=fa\u{0}ke\n", 1),
        ("CLIENT_ID=x\r\nCLIENT_SECRET=fake-${HOME}\r\n", 2),
        ("CLIENT_SECRET=fake-lonely\n", 1),
        ("CLIENT_ID=x\nCLIENT_SECRET=\"fake\\nsecond-line\"\n", 2),
        ("\u{FEFF}CLIENT_ID=x\nCLIENT_SECRET=fake-\(String(repeating: "s", count: 5000))\n", 2),
        ("A=" + String(repeating: "fake", count: 300_000), nil),
    ]
}
