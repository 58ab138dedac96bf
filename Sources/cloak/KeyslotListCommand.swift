import ArgumentParser
import Cloakroom

extension KeyslotCommand {
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the keyslots.",
            discussion: """
                Examples:
                  cloak keyslot list
                  cloak keyslot list --json
                """)

        @OptionGroup var options: VaultOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            let slots = try options.openVault().keyslots()
            if output.json { return Output.json(.array(slots.map(JSON.init))) }
            Output.table(["ID", "KIND", "DETAIL", "LABEL", "CREATED"], slots.map { slot in
                let detail = slot.fingerprint.map { "fingerprint \($0)" }
                    ?? slot.argon2.map { "argon2id, \($0.opsLimit) passes, \($0.memLimit >> 20) MiB" } ?? "-"
                return [String(slot.id), slot.kind.rawValue, detail, slot.label.isEmpty ? "-" : slot.label, Output.time(slot.createdAt)]
            })
        }
    }
}
