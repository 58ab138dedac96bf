import Foundation
import CloakroomTestSupport
import Testing

/// An edited vault id or keyslot is tampering (exit 6), not "wrong key file?" (exit 5), when the
/// key file given is the one the slot was made for.
@Suite struct UnlockTamperTests {
    @Test(arguments: [
        "UPDATE vault SET vault_id = randomblob(16)",
        "PRAGMA ignore_check_constraints = ON; UPDATE keyslots SET kdf_opslimit = 3, kdf_memlimit = 67108864, kdf_salt = randomblob(16)",
    ])
    func editedVaultIdentityOrKeyslotSaysTampered(sql: String) throws {
        let sandbox = try Sandbox.populated()
        try RawVault.execute(sandbox.vault, sql)
        let before = try sandbox.contents
        let token = try sandbox.run(["client", "remove", "prod/orders"])
        #expect(token.status == 6 && token.stderr.contains("tampered") && !token.stderr.contains("wrong key file"), "\(token)")
        #expect(token.stdout.isEmpty)
        #expect(try sandbox.contents == before, "nothing was changed")
        let doctor = try sandbox.run(["doctor"])
        #expect(doctor.status == 10 && doctor.stdout.contains("tampered"), "\(doctor)")
    }
}
