import ArgumentParser
import Cloakroom

/// Shell completion of realm and client names, from the vault's metadata: no key is needed, as
/// for `client list`, and nothing secret is read. The vault is the one the words being completed
/// name (`--vault X`), else `CLOAK_VAULT`, else the default. Any failure completes nothing: a
/// shell's Tab must never print an error.
enum Completion {
    static let clients = CompletionKind.custom { words, _, prefix in
        names(words) { try $0.clients().map(\.ref.description) }.filter { $0.hasPrefix(prefix) }
    }

    static let realms = CompletionKind.custom { words, _, prefix in
        names(words) { try $0.realms().map(\.name.rawValue) }.filter { $0.hasPrefix(prefix) }
    }

    private static func names(_ words: [String], _ read: (Vault) throws -> [String]) -> [String] {
        var location = Environment.value("CLOAK_VAULT")
        for (index, word) in words.enumerated() {
            if word == "--vault", index + 1 < words.count { location = words[index + 1] }
            if word.hasPrefix("--vault=") { location = String(word.dropFirst("--vault=".count)) }
        }
        let path = Paths.vault(location ?? Vault.defaultPath(environment: Environment.value))
        guard let vault = try? Vault.open(at: path, busyTimeout: .milliseconds(200)) else { return [] }
        return ((try? read(vault)) ?? []).sorted()
    }
}
