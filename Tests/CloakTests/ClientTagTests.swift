import Foundation
import CloakroomTestSupport
import Testing

/// Someone who can write the vault file swaps two clients' names: `cloak` must not hand out
/// billing's token as orders', run a command with it, or rotate billing's secret when asked to
/// rotate orders (against a real cloak-idp).
@Suite(.serialized) struct ClientTagCLITests {
    static let swapNames = """
        UPDATE clients SET name = 'swap' WHERE name = 'orders';
        UPDATE clients SET name = 'orders' WHERE name = 'billing';
        UPDATE clients SET name = 'billing' WHERE name = 'swap';
        """

    @Test func swappedClientNamesAreRefusedWithExit6() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        // Cached tokens for both, so that a swap would be served from the cache without the IdP.
        #expect(try sandbox.tokenJSON("r1/orders").0.status == 0)
        #expect(try sandbox.tokenJSON("r1/billing").0.status == 0)
        try RawVault.execute(sandbox.vault, Self.swapNames)
        _ = try await idp.control("DELETE", "stats")

        let token = try sandbox.run(["token", "r1/orders"])
        #expect(token.status == 6 && token.stdout.isEmpty && token.stderr.contains("r1/orders"), "\(token)")
        #expect(token.stderr.contains("changed outside cloak") && token.stderr.contains("backup"), "\(token)")
        let refreshed = try sandbox.run(["token", "r1/orders", "--refresh"])
        #expect(refreshed.status == 6 && refreshed.stdout.isEmpty, "\(refreshed)")
        let exec = try sandbox.run(["exec", "r1/orders", "--", "/bin/sh", "-c", "echo ran: $ACCESS_TOKEN"])
        #expect(exec.status == 6 && !exec.stdout.contains("ran"), "\(exec)")
        let rotate = try sandbox.run(["rotate", "r1/orders"])
        #expect(rotate.status == 6 && rotate.stderr.contains("r1/orders"), "\(rotate)")
        for outcome in [token, refreshed, exec, rotate] { RotationTests.expectNoSecrets(outcome) }

        // Nothing reached the IdP, and both secrets there are what they were.
        #expect(try await idp.control("GET", "stats")["total"] as? Int == 0)
        #expect(try await RotationTests.accepts(idp, "billing-svc", RotationTests.billingSecret))
        #expect(try await RotationTests.accepts(idp, "orders-svc", RotationTests.ordersSecret))

        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("r1/orders") && doctor.stdout.contains("r1/billing"), "\(doctor)")
    }

    /// A forged open journal row would make `--resume` settle a rotation that never ran (retiring a
    /// kept secret, or promoting one): refused before anything is asked of the IdP.
    @Test func forgedRotationJournalIsNotSettled() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        try sandbox.ok("rotate", "r1/orders")
        try RawVault.execute(sandbox.vault, """
            INSERT INTO rotations (client_id, from_version, to_version, mode, state, started_at, updated_at)
            SELECT id, 2, 3, 'chosen', 'pushed', 0, 0 FROM clients WHERE name = 'orders'
            """)
        let before = try sandbox.contents
        _ = try await idp.control("DELETE", "stats")
        let resume = try sandbox.run(["rotate", "--resume", "r1/orders"])
        #expect(resume.status == 6 && resume.stderr.contains("r1/orders"), "\(resume)")
        #expect(try sandbox.run(["token", "r1/orders", "--refresh"]).status == 6)
        #expect(try await idp.control("GET", "stats")["total"] as? Int == 0)
        #expect(try sandbox.contents == before, "the kept secret and the journal are as they were")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("r1/orders"), "\(doctor)")
    }

    /// The way back for a client the user has checked (or one stored before client tags existed).
    @Test func reauthenticatingAClientAcceptsItAsShown() throws {
        let sandbox = try Sandbox.populated()
        try RawVault.execute(sandbox.vault, "UPDATE clients SET trust_tag = NULL WHERE name = 'orders'")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("prod/orders"), "\(doctor)")
        let refused = try sandbox.run(["token", "prod/orders"])
        #expect(refused.status == 6 && refused.stderr.contains("cloak client update prod/orders --reauthenticate"), "\(refused)")
        try sandbox.ok("client", "update", "prod/orders", "--reauthenticate")
        #expect(try sandbox.ok("doctor").status == 0)
        let log = try sandbox.ok("log", "--client", "prod/orders", "--json")
        #expect(log.stdout.contains("client.reauthenticated"), "\(log)")
    }

    /// After an upgrade every client of a vault from before 0008 has no tag: a realm's worth is
    /// accepted in one step. A client whose tag is there but wrong was edited, and is not.
    @Test func aRealmsUntaggedClientsAreAcceptedInOneStepButNotAnEditedOne() throws {
        let sandbox = try Sandbox.populated()
        try sandbox.ok("realm", "add", "stage", "--token-url", Sandbox.tokenURL)
        try sandbox.ok("client", "add", "--no-verify", "stage/orders", "--client-id", "orders-stage", "--secret-stdin", stdin: Sandbox.ordersSecret)
        try RawVault.execute(sandbox.vault, "UPDATE clients SET trust_tag = NULL")
        try RawVault.execute(sandbox.vault, "UPDATE clients SET trust_tag = X'00' WHERE name = 'billing'")  // edited
        let accepted = try sandbox.ok("client", "update", "prod", "--reauthenticate")
        #expect(accepted.stderr.contains("accepted 1 client of realm prod") && accepted.stderr.contains("orders"), "\(accepted)")
        #expect(try sandbox.run(["client", "show", "prod/orders"]).status == 0)
        let edited = try sandbox.run(["token", "prod/billing"])
        #expect(edited.status == 6 && edited.stderr.contains("changed outside cloak"), "\(edited)")
        let otherRealm = try sandbox.run(["token", "stage/orders"])
        #expect(otherRealm.status == 6, "another realm's clients are left as they were: \(otherRealm)")
        let again = try sandbox.ok("client", "update", "prod", "--reauthenticate")
        #expect(again.stderr.contains("no client of realm prod is waiting"), "\(again)")
        let unknown = try sandbox.run(["client", "update", "nowhere", "--reauthenticate"])
        #expect(unknown.status == 3, "\(unknown)")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("prod/billing") && doctor.stdout.contains("stage/orders")
                && !doctor.stdout.contains("prod/orders"), "\(doctor)")
    }
}
