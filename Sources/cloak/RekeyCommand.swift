import ArgumentParser
import Cloakroom

struct RekeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rekey",
        abstract: "Replace the vault key and re-seal every secret in one transaction.",
        discussion: """
            Every keyslot opened by the credentials you give is re-wrapped for the new key. On a \
            terminal, each passphrase slot those did not open is asked for (Enter skips it). A \
            slot still not opened would be lost: rekey refuses, unless it is named with \
            --drop-slot ID (on a terminal it asks instead). Give --key-file and --passphrase-fd \
            together to keep both kinds from a script. The audit log is re-MAC'd under the new \
            key after it was verified under the old one; a log that does not verify stops the \
            rekey (see `cloak doctor`) unless --force is given.

            Examples:
              cloak rekey
              cloak rekey --key-file ci.key --passphrase-fd 3 3<passphrase-file
              cloak rekey --drop-slot 3 --yes
            """
    )

    @OptionGroup var options: VaultOptions
    @Flag(help: "Rekey even though the audit log does not verify: it is re-MAC'd as found, and the rekey's event says so.")
    var force = false
    @Option(name: .customLong("drop-slot"), help: ArgumentHelp("Remove this keyslot instead of re-wrapping it (repeat for several).", valueName: "id"))
    var dropSlot: [Int64] = []
    @OptionGroup var confirmation: ConfirmationOptions

    func run() throws {
        let vault = try options.openVault()
        var credentials = try options.credentials(for: vault)
        var unlocked = try vault.unlock(with: credentials, all: true)
        var dropping = Set(dropSlot)
        if Terminal.isInteractive {
            // Each passphrase slot not opened yet is asked for, by its id and label: one more
            // unlock with everything typed re-wraps them all.
            var typed = false
            for slot in try unlocked.unopenedKeyslots() where slot.kind == .passphrase && !dropping.contains(slot.id) {
                let label = slot.label.isEmpty ? "" : " “\(slot.label)”"
                guard let phrase = try Terminal.optionalPassphrase(prompt: "Passphrase for keyslot \(slot.id)\(label), to keep it (Enter to drop it): ") else { continue }
                credentials.append(.passphrase(phrase))
                typed = true
            }
            if typed { unlocked = try vault.unlock(with: credentials, all: true) }
            let lost = try unlocked.unopenedKeyslots().filter { !dropping.contains($0.id) }
            let doomed = try vault.keyslots().filter { dropping.contains($0.id) } + lost
            if !doomed.isEmpty {
                let names = doomed.map { "\($0.id) (\($0.kind.rawValue)\($0.label.isEmpty ? "" : " “\($0.label)”"))" }.joined(separator: ", ")
                try confirmation.confirm("rekey and remove keyslot(s) \(names): what opens them will no longer open the vault")
                dropping.formUnion(lost.map(\.id))
            }
        }
        let (_, report) = try unlocked.rekey(acceptingBrokenAuditLog: force, dropping: dropping)
        Terminal.note("new vault key: \(report.resealed) sealed value(s) re-sealed, \(report.reauthenticatedEvents) audit event(s) re-MAC'd, keyslot(s) \(report.keptKeyslots.map(String.init).joined(separator: ", ")) kept")
        if !report.auditProblemsAccepted.isEmpty {
            Terminal.note("warning: the audit log did not verify and was re-MAC'd as found (\(report.auditProblemsAccepted.count) problem(s)); the rekey's audit event records this")
        }
        if !report.removedKeyslots.isEmpty {
            Terminal.note("removed keyslot(s) \(report.removedKeyslots.map(String.init).joined(separator: ", ")); add what should open the vault again with `cloak keyslot add`")
        }
    }
}
