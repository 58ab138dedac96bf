import ArgumentParser
import Cloakroom

struct KeyslotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keyslot",
        abstract: "List, add and remove the ways to unlock the vault.",
        discussion: """
            Adding or removing a keyslot re-encrypts nothing: each slot wraps the same vault key.

            Examples:
              cloak keyslot list
              cloak keyslot add --new-passphrase --label alice
              cloak keyslot remove 2
            """,
        subcommands: [List.self, Add.self, Remove.self]
    )
}

extension JSON {
    init(_ slot: Keyslot) {
        self = .object([
            "id": .number(slot.id),
            "kind": .string(slot.kind.rawValue),
            "label": .string(slot.label),
            "fingerprint": .optional(slot.fingerprint),
            "argon2_ops_limit": slot.argon2.map { .number(Int64($0.opsLimit)) } ?? .null,
            "argon2_mem_limit": .optional(slot.argon2?.memLimit),
            "created_at": .string(Output.time(slot.createdAt)),
        ])
    }
}
