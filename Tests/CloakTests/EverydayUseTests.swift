import Foundation
import CloakroomTestSupport
import Testing

/// Issue 13: what got in the way of a new user's everyday jobs, each through the real binary.
@Suite struct EverydayUseTests {
    /// Item 7: a passphrase file written as the passphrase would be typed twice held it with a
    /// newline inside; now only its first line is read, from a file, a pipe or a terminal alike.
    @Test func aPassphraseIsReadUpToItsFirstNewline() throws {
        let sandbox = Sandbox()
        let none = ["CLOAK_KEY_FILE": ""]
        let phrase = "correct horse battery staple"
        func file(_ name: String, _ text: String) throws -> String {
            let path = sandbox.directory.file(name)
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let twice = try file("twice", phrase + "\n" + phrase + "\n")
        let created = try sandbox.run([], environment: none, viaShell: "exec \"$0\" init --passphrase --kdf interactive --passphrase-fd 3 3<\(twice)")
        #expect(created.status == 0, "\(created)")
        for (name, text) in [("bare", phrase), ("crlf", phrase + "\r\n")] {
            let path = try file(name, text)
            let listed = try sandbox.run([], environment: none, viaShell: "exec \"$0\" realm list --passphrase-fd 3 3<\(path)")
            #expect(listed.status == 0, "\(name): \(listed)")
        }
        let piped = try sandbox.run([], environment: none, viaShell: "printf '%s\\n%s\\n' '\(phrase)' 'not read' | exec \"$0\" realm list --passphrase-fd 0")
        #expect(piped.status == 0, "\(piped)")
    }
}
