import ArgumentParser
import Cloakroom

struct RekeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Replace the vault key and re-seal every secret in one transaction.",
        discussion: """
            Every keyslot opened by the credentials you give is re-wrapped for the new key; the \
            others are removed, because their keys are not known here. Give --key-file and \
            --passphrase-fd together to keep both kinds. The audit log is re-MAC'd under the new \
            key after it was verified under the old one; a log that does not verify stops the \
            rekey (see `cloak doctor`) unless --force is given.
            """
    )

    @OptionGroup var options: VaultOptions
    @Flag(help: "Rekey even though the audit log does not verify: it is re-MAC'd as found, and the rekey's event says so.")
    var force = false

    func run() throws {
        let (_, report) = try options.unlockVault(all: true).rekey(acceptingBrokenAuditLog: force)
        Terminal.note("new vault key: \(report.resealed) sealed value(s) re-sealed, \(report.reauthenticatedEvents) audit event(s) re-MAC'd, keyslot(s) \(report.keptKeyslots.map(String.init).joined(separator: ", ")) kept")
        if !report.auditProblemsAccepted.isEmpty {
            Terminal.note("warning: the audit log did not verify and was re-MAC'd as found (\(report.auditProblemsAccepted.count) problem(s)); the rekey's audit event records this")
        }
        if !report.removedKeyslots.isEmpty {
            Terminal.note("removed keyslot(s) \(report.removedKeyslots.map(String.init).joined(separator: ", ")): no given key opened them; add them again with `cloak keyslot add`")
        }
    }
}
