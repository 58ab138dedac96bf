import CloakroomCrypto
/// The `.env` harness: the parser must either refuse with a `DotEnvError` or give entries that
/// obey its own documentation; reading credentials must refuse the same way or give usable ones.
enum FuzzDotEnv {
    static func run(_ data: UnsafeRawBufferPointer, _ violations: inout Violations) {
        let dotenv: DotEnv
        do {
            dotenv = try DotEnv.parse(data, file: "fuzz.env")
        } catch let error as DotEnvError {
            violations.check(error.line.map { $0 >= 1 } ?? true, "an error on line \(error.line ?? 0)")
            return
        } catch {
            violations.check(false, "parse threw \(type(of: error)), not DotEnvError")
            return
        }
        var previousLine = 0
        for entry in dotenv.entries {
            violations.check(entry.line >= 1 && entry.line <= entry.endLine, "entry \(entry.key) spans lines \(entry.lines)")
            violations.check(entry.line > previousLine, "entries out of order at line \(entry.line)")
            previousLine = entry.line
            let key = Array(entry.key.utf8)
            violations.check(!key.isEmpty && !(UInt8(ascii: "0")...UInt8(ascii: "9")).contains(key[0])
                             && key.allSatisfy { $0 == UInt8(ascii: "_") || ($0 | 0x20 >= UInt8(ascii: "a") && $0 | 0x20 <= UInt8(ascii: "z"))
                                 || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) },
                             "the key \(entry.key.debugDescription) is not a shell name")
            violations.check(entry.quoting != .single || !entry.mentionsVariable, "a single-quoted value mentions a variable")
            _ = entry.value.text
            roundTrip(entry, &violations)
        }
        if let last = dotenv.entries.last {
            violations.check(dotenv.entry(last.key)?.line == last.line, "entry(_:) is not the last assignment")
        }
        for note in dotenv.notes {
            violations.check(note.line >= 1 && !hasControlCharacters(note.message), "a note on line \(note.line): \(note.message.debugDescription)")
        }
        _ = try? dotenv.clientIDsWithoutSecret()
        do {
            for credential in try dotenv.credentials() {
                violations.check(!credential.clientID.isEmpty && !hasControlCharacters(credential.clientID), "a client_id with control characters")
                violations.check(credential.secret.count > 0, "an empty secret")
                if let endpoint = credential.endpoint {
                    violations.check(!hasControlCharacters(endpoint.tokenURL), "a token URL with control characters")
                }
                violations.check(credential.entries.contains { $0.line == credential.secretEntry.line }, "the secret's entry is not among its entries")
                _ = credential.suggestedName
            }
        } catch let error as DotEnvError {
            violations.check(!hasControlCharacters(error.message), "an error message with control characters: \(error.message.debugDescription)")
        } catch {
            violations.check(false, "credentials() threw \(type(of: error)), not DotEnvError")
        }
    }

    /// `KEY='value'` gives back the same bytes, for any value without a `'` (single quotes have
    /// no escapes, so that is every value they can hold) or a CR (only `"\r"` makes one, and a
    /// CR written out is read as a line ending).
    private static func roundTrip(_ entry: DotEnv.Entry, _ violations: inout Violations) {
        entry.value.bytes.withUnsafeBytes { value in
            guard !value.contains(UInt8(ascii: "'")), !value.contains(UInt8(ascii: "\r")) else { return }
            let line = Array("\(entry.key)='".utf8) + Array(value) + Array("'\n".utf8)
            guard let again = try? DotEnv.parse(line, file: "round-trip.env") else {
                violations.check(false, "\(entry.key)='…' (the value of line \(entry.line), single-quoted) does not parse")
                return
            }
            violations.check(again.entries.count == 1 && again.entries[0].key == entry.key
                             && again.entries[0].value.bytes.isEqual(to: entry.value.bytes) && again.entries[0].quoting == .single,
                             "the value of \(entry.key) (line \(entry.line)) changes when written single-quoted")
        }
    }
}
