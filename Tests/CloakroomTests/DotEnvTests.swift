import Foundation
import CloakroomTestSupport
import Testing
@testable import Cloakroom

/// One `.env` text and what parsing it must give: assignments (name, value, first line) and
/// how many notes, or an error on a line. Every value holds `fake`, and no message may.
struct DotEnvCase: Sendable, CustomTestStringConvertible {
    var name: String
    var text: String
    var entries: [(String, String, Int)] = []
    var notes = 0
    var errorLine: Int?? = nil
    var error: String? = nil

    var testDescription: String { name }

    static func ok(_ name: String, _ text: String, _ entries: [(String, String, Int)], notes: Int = 0) -> DotEnvCase {
        DotEnvCase(name: name, text: text, entries: entries, notes: notes)
    }

    static func error(_ name: String, _ text: String, line: Int?, _ message: String) -> DotEnvCase {
        DotEnvCase(name: name, text: text, errorLine: .some(line), error: message)
    }
}

@Suite struct DotEnvTests {
    static let longValue = "fake-" + String(repeating: "x", count: 200_000)

    static let corpus: [DotEnvCase] = [
        .ok("plain", "A=fake-1\n", [("A", "fake-1", 1)]),
        .ok("export prefix", "export A=fake-1", [("A", "fake-1", 1)]),
        .ok("blanks around name and =", "  A =  fake-1  \n", [("A", "fake-1", 1)]),
        .ok("tabs", "\tA\t=\tfake-1\t\n", [("A", "fake-1", 1)]),
        .ok("comments full-line, indented and after a value", "# top\n   # indented\nA=fake-1 # after\n", [("A", "fake-1", 3)]),
        .ok("# without a blank before it is part of the value", "A=fake#1\n", [("A", "fake#1", 1)]),
        .ok("# right after = with a blank is a comment", "A= #fake\n", [("A", "", 1)]),
        .ok("= in the value", "A=fake=1=2\n", [("A", "fake=1=2", 1)]),
        .ok("empty values", "A=\nB=''\nC=\"\"\n", [("A", "", 1), ("B", "", 2), ("C", "", 3)]),
        .ok("single quotes are literal", "A='fake \\n $HOME #x \"q\"'\n", [("A", "fake \\n $HOME #x \"q\"", 1)]),
        .ok("double-quote escapes", "A=\"fake\\n\\t\\r\\\"\\\\\\$\"\n", [("A", "fake\n\t\r\"\\$", 1)]),
        .ok("unknown escapes are kept", "A=\"fake\\q\\'\"\n", [("A", "fake\\q\\'", 1)]),
        .ok("# and ' inside double quotes", "A=\"fake #1 it's\" # comment\n", [("A", "fake #1 it's", 1)]),
        .ok("multi-line double quotes", "A=\"fake\nline 2\"\nB=fake-b\n", [("A", "fake\nline 2", 1), ("B", "fake-b", 3)]),
        .ok("multi-line single quotes", "A='fake\n\nline 3'\nB=fake-b", [("A", "fake\n\nline 3", 1), ("B", "fake-b", 4)]),
        .ok("CRLF line endings", "A=fake-1\r\nB=\"fake\r\n2\"\r\nC=fake-3\r\n", [("A", "fake-1", 1), ("B", "fake\n2", 2), ("C", "fake-3", 4)]),
        .ok("lone CR line endings", "A=fake-1\rB=fake-2\r", [("A", "fake-1", 1), ("B", "fake-2", 2)]),
        .ok("byte-order mark", "\u{FEFF}A=fake-1\n", [("A", "fake-1", 1)]),
        .ok("duplicate name: the last wins, with a note", "A=fake-1\nA=fake-2\n", [("A", "fake-1", 1), ("A", "fake-2", 2)], notes: 1),
        .ok("a name without = is ignored with a note", "A\nB=fake-b\n", [("B", "fake-b", 2)], notes: 1),
        .ok("export alone", "export\nexport   \nexport B\n", [], notes: 3),
        .ok("a variable named export", "export=fake-1\n", [("export", "fake-1", 1)]),
        .ok("blank and whitespace-only lines", "\n  \n\t\nA=fake-1", [("A", "fake-1", 4)]),
        .ok("quotes inside an unquoted value are literal", "A=fa'ke\"1\n", [("A", "fa'ke\"1", 1)]),
        .ok("inner blanks kept, trailing trimmed", "A=fake  1   \n", [("A", "fake  1", 1)]),
        .ok("a very long line", "A=\(longValue)\n", [("A", longValue, 1)]),
        .ok("UTF-8 values", "A=fäke-ü-🔑\n", [("A", "fäke-ü-🔑", 1)]),
        .ok("lower-case names", "client_id=fake-id\n", [("client_id", "fake-id", 1)]),
        .ok("no newline at the end", "A=fake-1", [("A", "fake-1", 1)]),
        .ok("empty file", "", []),
        .error("unterminated double quote names its line", "A=fake-1\nB=\"fake\nC=fake-3\n", line: 2, "B opens a \" quote that is never closed"),
        .error("unterminated single quote", "A='fake", line: 1, "A opens a ' quote that is never closed"),
        .error("unterminated after a multi-line value", "A='fake\nx'\nB=fake\nC=\"fake", line: 4, "C opens"),
        .error("an escaped closing quote does not close", "A=\"fake\\\"\n", line: 1, "never closed"),
        .error("text after the closing quote", "A=\"fake\"x\n", line: 1, "after the closing quote of A"),
        .error("two quoted strings", "A='fake' 'more'\n", line: 1, "after the closing quote"),
        .error("a name starting with a digit", "1A=fake\n", line: 1, "NAME=VALUE"),
        .error("a dash in a name", "\nA-B=fake\n", line: 2, "expected '='"),
        .error("no name", "=fake\n", line: 1, "NAME=VALUE"),
        .error("export of a bad name", "export 9X=fake\n", line: 1, "NAME=VALUE"),
        .error("a pasted secret on its own line is not quoted back", "A=fake-1\nfake-secret-value more\n", line: 2, "expected '='"),
        .error("a secret with blanks on its own line", "fakesecret fakemore\n", line: 1, "expected '='"),
        .error("a NUL byte", "A=fa\u{0}ke\n", line: 1, "NUL byte"),
        .error("a NUL byte on line 3 of a CRLF file", "A=fake\r\nB=fake\r\nC=\u{0}\r\n", line: 3, "NUL byte"),
        .error("larger than 1 MiB", "A=" + String(repeating: "f", count: DotEnv.maximumSize), line: nil, "larger than 1024 KiB"),
        .error("CR inside a name line", "A\rB-=fake", line: 2, "expected '='"),
    ]

    @Test(arguments: corpus)
    func corpusParsesOrNamesTheLine(_ example: DotEnvCase) throws {
        do {
            let env = try DotEnv.parse(Array(example.text.utf8), file: "test.env")
            #expect(example.error == nil, "parsed, but expected: \(example.error ?? "")")
            #expect(env.entries.map(\.key) == example.entries.map(\.0))
            #expect(env.entries.map { $0.value.text ?? "<not UTF-8>" } == example.entries.map(\.1))
            #expect(env.entries.map(\.line) == example.entries.map(\.2))
            #expect(env.notes.count == example.notes, "\(env.notes)")
            for note in env.notes { #expect(!note.description.contains("fake"), "a note quotes a value: \(note)") }
        } catch let error as DotEnvError {
            let expected = try #require(example.error, "unexpected error: \(error)")
            #expect(error.message.contains(expected), "\(error)")
            #expect(error.line == example.errorLine!, "\(error)")
            #expect(error.description.hasPrefix("test.env:" + (error.line.map { "\($0): " } ?? " ")), "\(error)")
            #expect(!error.description.contains("fake"), "an error quotes a value: \(error)")
        }
    }

    @Test func valuesPrintRedactedAndVariablesAreFlagged() throws {
        let env = try DotEnv.parse(Array("A=${HOME}x\nB='$HOME'\nC=\"\\$HOME\"\nD=\"$X\"\nE=fake$\nF=$1\n".utf8), file: "t.env")
        #expect(env.entries.map(\.mentionsVariable) == [true, false, false, true, false, false])
        let value = try #require(env.entry("A")).value
        #expect("\(value)" == "<redacted>" && String(reflecting: value) == "<redacted>")
        #expect(Mirror(reflecting: value).children.isEmpty)
    }

    @Test func duplicateNoteNamesBothLinesAndOverriddenEntriesAreKnown() throws {
        let env = try DotEnv.parse(Array("CLIENT_SECRET=fake-old\nX=1\nCLIENT_SECRET=fake-new\n".utf8), file: "t.env")
        #expect(env.notes.map(\.description) == ["t.env:3: CLIENT_SECRET is set again; the value on line 1 is ignored"])
        let last = try #require(env.entry("CLIENT_SECRET"))
        #expect(last.line == 3 && env.overridden(by: last).map(\.line) == [1])
    }

    // MARK: Credentials

    static let token = "https://sso.example.test/realms/prod/protocol/openid-connect/token"

    @Test(arguments: [
        ("TOKEN_URL=\(token)\nCLIENT_ID=orders-svc\nCLIENT_SECRET=fake-1\n", [nil], token),
        ("OAUTH_TOKEN_URL=\(token)\nOAUTH_CLIENT_ID=orders-svc\nOAUTH_CLIENT_SECRET=fake-1\n", [nil], token),
        ("KEYCLOAK_TOKEN_ENDPOINT=\(token)\nKEYCLOAK_CLIENT_ID=orders-svc\nKEYCLOAK_CLIENT_SECRET=fake-1\n", [nil], token),
        ("KEYCLOAK_URL=https://sso.example.test/\nKEYCLOAK_REALM=prod\nCLIENT_ID=orders-svc\nCLIENT_SECRET=fake-1\n", [nil], token),
        ("KEYCLOAK_SERVER_URL=https://sso.example.test/realms/prod\nCLIENT_ID=orders-svc\nCLIENT_SECRET=fake-1\n", [nil], token),
        ("KEYCLOAK_AUTH_SERVER_URL=https://sso.example.test/auth\nKEYCLOAK_REALM=prod\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", [nil],
         "https://sso.example.test/auth/realms/prod/protocol/openid-connect/token"),
        ("OIDC_ISSUER=https://sso.example.test/realms/prod/\nCLIENT_ID=orders-svc\nCLIENT_SECRET=fake-1\n", [nil], token),
        ("TOKEN_URL=\(token)\nKEYCLOAK_URL=https://sso.example.test\nKEYCLOAK_REALM=prod\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", [nil], token),
        ("TOKEN_URL=\(token)\nORDERS_CLIENT_ID=o\nORDERS_CLIENT_SECRET=fake-1\nbilling_api_oauth_client_id=b\nBILLING_API_CLIENT_SECRET=fake-2\n",
         ["ORDERS", "BILLING_API"], token),
    ] as [(String, [String?], String)])
    func variantsMapToCredentials(text: String, prefixes: [String?], tokenURL: String) throws {
        let credentials = try DotEnv.parse(Array(text.utf8), file: "t.env").credentials()
        #expect(credentials.map(\.prefix) == prefixes)
        #expect(credentials.allSatisfy { $0.endpoint?.tokenURL == tokenURL }, "\(credentials.map { $0.endpoint?.tokenURL })")
    }

    @Test func prefixedTokenURLWinsOverTheSharedOneAndNamesFollowPrefixes() throws {
        let other = "https://other.example.test/realms/ops/protocol/openid-connect/token"
        let text = "TOKEN_URL=\(Self.token)\nORDERS_TOKEN_URL=\(other)\nORDERS_CLIENT_ID=o\nORDERS_CLIENT_SECRET=fake-1\nCLIENT_ID=x\nCLIENT_SECRET=fake-2\n"
        let credentials = try DotEnv.parse(Array(text.utf8), file: "t.env").credentials()
        #expect(credentials.map { $0.endpoint?.tokenURL } == [other, Self.token])
        #expect(credentials.map(\.suggestedName) == ["orders", nil])
        #expect(credentials[0].entries.map(\.line) == [2, 3, 4])
    }

    @Test(arguments: [
        ("CLIENT_SECRET=fake-1\n", 1, "CLIENT_SECRET has no CLIENT_ID"),
        ("ORDERS_CLIENT_SECRET=fake-1\n", 1, "has no ORDERS_CLIENT_ID"),
        ("CLIENT_ID=o\nCLIENT_SECRET=fake-1\nKEYCLOAK_REALM=prod\n", 3, "needs KEYCLOAK_URL"),
        ("KEYCLOAK_URL=https://sso.example.test\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", 1, "needs KEYCLOAK_REALM"),
        ("OIDC_ISSUER=https://accounts.example.test\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", 1, "not a Keycloak issuer"),
        ("TOKEN_URL=\(token)\nKEYCLOAK_URL=https://other.example.test\nKEYCLOAK_REALM=prod\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", 2, "another token endpoint"),
        ("TOKEN_URL=\(token)\nOAUTH_TOKEN_URL=https://x.example.test/t\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", 2, "say different things"),
        ("TOKEN_URL=\(token)\nCLIENT_ID=o\nCLIENT_SECRET=fake-${SUFFIX}\n", 3, "$VARIABLE"),
        ("TOKEN_URL=${BASE}/token\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n", 1, "$VARIABLE"),
        ("TOKEN_URL=\(token)\nCLIENT_ID=o\nCLIENT_SECRET=\n", 3, "the client secret is empty"),
        ("TOKEN_URL=\(token)\nCLIENT_ID=\nCLIENT_SECRET=fake-1\n", 2, "CLIENT_ID is empty"),
        ("TOKEN_URL=\(token)\nCLIENT_ID=o\nCLIENT_SECRET=\"fake\\n2\"\n", 3, "control character"),
    ] as [(String, Int, String)])
    func credentialsThatDoNotAddUpNameTheLine(text: String, line: Int, message: String) throws {
        let error = try #require(throws: DotEnvError.self) { try DotEnv.parse(Array(text.utf8), file: "t.env").credentials() }
        #expect(error.line == line && error.message.contains(message), "\(error)")
        #expect(!error.description.contains("fake"), "\(error)")
    }

    @Test func aClientIDWithoutASecretIsLeftAlone() throws {
        let env = try DotEnv.parse(Array("PUBLIC_CLIENT_ID=web\nTOKEN_URL=\(Self.token)\nCLIENT_ID=o\nCLIENT_SECRET=fake-1\n".utf8), file: "t.env")
        #expect(try env.credentials().map(\.clientID) == ["o"])
        #expect(try env.clientIDsWithoutSecret().map(\.line) == [1])
    }

    @Test func aLiteralDollarInSingleQuotesIsAccepted() throws {
        let text = "TOKEN_URL=\(Self.token)\nCLIENT_ID=o\nCLIENT_SECRET='fake-$ECRET'\n"
        let credential = try #require(try DotEnv.parse(Array(text.utf8), file: "t.env").credentials().first)
        #expect(credential.secret.withUnsafeBytes { Array($0) } == Array("fake-$ECRET".utf8))
    }

    @Test func batchDirectoriesListEnvFilesButNotTemplatesOrLinks() throws {
        let directory = TemporaryDirectory()
        for name in [".env", ".env.local", "orders.env", ".env.example", "prod.env.sample", "notes.txt", "ENV"] {
            try "A=fake\n".write(toFile: directory.path + "/" + name, atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: directory.path + "/sub.env", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/link.env", withDestinationPath: directory.path + "/orders.env")
        let found = try DotEnv.files(in: directory.path)
        #expect(found.files.map { ($0 as NSString).lastPathComponent } == [".env", ".env.local", "orders.env"])
        #expect(found.skipped.map { ($0 as NSString).lastPathComponent } == ["link.env"])
    }
}
