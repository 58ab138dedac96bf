import Foundation
import Testing
@testable import Cloakroom

/// One error model: every error is a `CloakroomError` with a stable code, the realm and client it
/// concerns, and what to do next as data; no message names a `cloak` command or flag.
@Suite struct ErrorModelTests {
    @Test func errorsCarryTheirFactsAndNextStepsAsData() throws {
        let fixture = try Fixture()
        try fixture.populate()
        let prod = try Name("prod")
        let missing = try ClientRef("prod/nope")

        let notFound = #expect(throws: VaultError.self) { try fixture.vault.vault.client(missing) }
        #expect(notFound?.code == .notFound && notFound?.client == missing && notFound?.realm == prod)
        #expect(notFound?.next == [.listClients(realm: prod)])

        let occupied = #expect(throws: VaultError.self) { try fixture.vault.removeRealm(prod, force: false) }
        #expect(occupied?.code == .conflict && occupied?.realm == prod)
        #expect(occupied?.next == [.force(effect: "remove them and their secrets too")])

        let rejected: any CloakroomError = TokenError.rejected(client: try ClientRef("prod/orders"), status: 401, error: "unauthorized_client", description: nil)
        #expect(rejected.code == .credentialsRejected && rejected.realm == prod)
        #expect(try rejected.next == [.showClient(ClientRef("prod/orders")), .updateClient(ClientRef("prod/orders")), .syncRealm(prod)])
        // Keycloak's refusal of a client without a service account: the same code, another cause.
        let grant: any CloakroomError = TokenError.rejected(client: try ClientRef("prod/orders"), status: 401, error: "unauthorized_client",
                                                            description: "Client not enabled to retrieve service account")
        let orders = try ClientRef("prod/orders")
        #expect(grant.code == .credentialsRejected && grant.next == [.allowClientCredentialsGrant(orders)])
    }

    @Test func codesAreStableSnakeCaseAndDistinct() {
        let raw = ErrorCode.allCases.map(\.rawValue)
        #expect(Set(raw).count == raw.count)
        #expect(raw.allSatisfy { $0.allSatisfy { $0.isLowercase || $0 == "_" } })
        // Rotation kinds and vault codes are views of the one code.
        #expect(RotationError(.unresolved, nil, "x").code == .rotationUnresolved)
        #expect(DotEnvError(file: "f", line: 1, message: "m").code == .invalidInput)
    }

    /// The library speaks of what would help, never of how to type it: any `cloak …` or
    /// `--flag` inside a string literal of a library target fails here, naming the line.
    @Test func noLibraryMessageNamesACommandOrAFlag() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources").standardized
        let targets = ["Cloakroom", "CloakroomStore", "CloakroomCrypto", "CloakroomHTTP", "CloakroomAgent"]
        let literal = try Regex(#""(?:[^"\\]|\\.)*""#)
        let command = try Regex(#"`cloak |(?:^|[\s(])--[a-z]"#)
        var offenders: [String] = []
        var files = 0
        for target in targets {
            let directory = sources.appendingPathComponent(target)
            guard let walker = FileManager.default.enumerator(atPath: directory.path) else { continue }
            for case let file as String in walker where file.hasSuffix(".swift") {
                files += 1
                let text = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
                for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let code = line.drop { $0 == " " }
                    if code.hasPrefix("//") { continue }
                    for match in code.matches(of: literal) where code[match.range].contains(command) {
                        offenders.append("\(target)/\(file):\(number + 1): \(code[match.range].prefix(80))")
                    }
                }
            }
        }
        #expect(files > 100, "the library's sources were not found at \(sources.path)")
        #expect(offenders.isEmpty, "\(offenders.joined(separator: "\n"))")
    }
}
