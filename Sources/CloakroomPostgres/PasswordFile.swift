internal import CloakroomStore

#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// The password file libpq reads (`PGPASSFILE`, else `~/.pgpass`): lines of
/// `hostname:port:database:username:password`, `*` matching anything, `\` escaping `:` and `\`,
/// the first matching line winning. As libpq does, a Unix-socket connection matches `localhost`
/// (and the socket's directory).
///
/// Unlike libpq, which warns and carries on without it, a file that others can read is refused:
/// a password others can read is no longer this user's secret, and a warning on stderr is easy
/// to miss in a service's log.
struct PasswordFile {
    let path: String

    /// The file named by `PGPASSFILE`, else `~/.pgpass`; `nil` when there is none.
    static func located(environment: (String) -> String?) -> PasswordFile? {
        if let path = environment("PGPASSFILE"), !path.isEmpty { return PasswordFile(path: path) }
        guard let home = environment("HOME"), !home.isEmpty else { return nil }
        return PasswordFile(path: home + "/.pgpass")
    }

    /// The password for `user` at `host` (database `database`), or `nil` when the file is
    /// missing or has no matching line.
    /// - Throws: `StoreError` `.denied` when the file can be read by others.
    func password(host: PostgresLocation.Host, database: String, user: String) throws -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        guard status.st_mode & 0o077 == 0 else {
            throw StoreError(kind: .denied, path: path,
                             message: "the password file \(path) can be read or written by others (mode \(String(status.st_mode & 0o777, radix: 8))); chmod 600 it")
        }
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        let hostNames = host.isUnixSocket ? ["localhost", host.name] : [host.name]
        while getline(&line, &capacity, file) >= 0, let line {
            let text = String(cString: line).trimmingSuffix { $0 == "\n" || $0 == "\r" }
            guard !text.hasPrefix("#"), let fields = Self.fields(text), fields.count == 5 else { continue }
            func matches(_ field: String, _ values: [String]) -> Bool { field == "*" || values.contains(field) }
            if matches(fields[0], hostNames), matches(fields[1], [String(host.port)]), matches(fields[2], [database]),
               matches(fields[3], [user]) {
                return fields[4]
            }
        }
        return nil
    }

    /// A line's fields, split at unescaped `:`; `nil` for a line that ends in a lone `\`.
    private static func fields(_ line: String) -> [String]? {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" && fields.count < 4 {
                fields.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        guard !escaped else { return nil }
        fields.append(current)
        return fields
    }
}

extension String {
    fileprivate func trimmingSuffix(while predicate: (Character) -> Bool) -> String {
        var text = self
        while let last = text.last, predicate(last) { text.removeLast() }
        return text
    }
}
