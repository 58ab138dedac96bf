import ArgumentParser

/// What people type that swift-argument-parser would refuse, made into what it takes — as git
/// and kubectl allow: vault options before the command (`cloak --vault X client list`) move to
/// just after it, and a command that does not exist is answered with the nearest that does.
/// Runs only when `cloak`'s first argument is an option or the command is not found; the fast
/// token path never gets here.
enum CommandLineShape {
    /// The options every vault command takes (`VaultOptions`), with how many values follow each.
    static let vaultOptions: [String: Int] = ["--vault": 1, "--key-file": 1, "--key-fd": 1, "--passphrase-fd": 1, "--debug": 0]

    /// `arguments` with leading vault options moved after the command's name.
    /// - Throws: `UsageError` naming the nearest command when a command's name is mistyped.
    static func normalise(_ arguments: [String]) throws -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count, arguments[index].hasPrefix("--") {
            let name = String(arguments[index].prefix { $0 != "=" })
            guard let values = vaultOptions[name] else { break }
            let taken = arguments[index].contains("=") ? 1 : 1 + values
            guard index + taken <= arguments.count else { break }  // argument-parser says what is missing
            leading += arguments[index..<index + taken]
            index += taken
        }
        let rest = Array(arguments[index...])
        var command: any ParsableCommand.Type = Cloak.self
        var path: [String] = []
        for word in rest {
            let subcommands = command.configuration.subcommands
            guard !word.hasPrefix("-"), !subcommands.isEmpty else { break }
            guard let next = subcommands.first(where: { names(of: $0).contains(word) }) else {
                if word == "help" { break }  // argument-parser's own
                throw unknown(word, among: subcommands.flatMap(names), under: ["cloak"] + path)
            }
            path.append(word)
            command = next
        }
        return leading.isEmpty ? arguments : path + leading + rest.dropFirst(path.count)
    }

    private static func names(of command: any ParsableCommand.Type) -> [String] {
        [command.configuration.commandName ?? command._commandName] + command.configuration.aliases
    }

    private static func unknown(_ word: String, among names: [String], under path: [String]) -> UsageError {
        let command = path.joined(separator: " ")
        let nearest = names.map { ($0, distance(word, $0)) }.filter { $0.1 <= max(1, min(2, word.count / 3)) }.min { $0.1 < $1.1 }?.0
            ?? names.first { word.count >= 2 && $0.hasPrefix(word) }
        let suggestion = nearest.map { " Did you mean `\(command) \($0)`?" } ?? ""
        return UsageError("'\(word)' is not a command of `\(command)`.\(suggestion) `\(command) --help` lists them.")
    }

    /// Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
    /// neighbouring characters (`tokne` is one swap from `token`) each cost 1.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
