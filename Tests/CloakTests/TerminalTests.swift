import Foundation
import CloakroomTestSupport
import Testing

/// Prompts on a real pseudo-terminal (driven by Python's `pty`): what a person sees and types.
@Suite struct TerminalTests {
    /// Runs `cloak arguments…` on a pty, answering each prompt in `answers` in turn; returns
    /// everything the terminal showed and the exit status.
    /// Runs `program arguments…` (`cloak`, unless told) on a pseudo-terminal, typing each reply
    /// once its prompt is on the screen; returns the screen and the exit status. The environment
    /// is the sandbox's with `environment` on top, or `replacingEnvironment` alone.
    func onTerminal(_ sandbox: Sandbox, _ arguments: [String], answers: [(prompt: String, reply: String)],
                    environment: [String: String] = [:], program: String = Sandbox.binary,
                    replacingEnvironment: [String: String]? = nil) throws -> (screen: String, status: Int32) {
        let script = """
            import json, os, pty, signal, sys
            signal.alarm(60)  # a prompt that never comes must not hang the suite; the pty's close hangs up cloak
            binary, args, answers = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(binary, [binary] + args)
            screen = b""
            def read_until(text):
                global screen
                while text.encode() not in screen:
                    try:
                        chunk = os.read(fd, 1024)
                    except OSError:
                        return
                    if not chunk:
                        return
                    screen += chunk
            for prompt, reply in answers:
                read_until(prompt)
                os.write(fd, (reply + "\\n").encode())
            while True:
                try:
                    chunk = os.read(fd, 1024)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            _, status = os.waitpid(pid, 0)
            sys.stdout.write(json.dumps({"screen": screen.decode(errors="replace"), "status": os.waitstatus_to_exitcode(status)}))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let answerJSON = String(decoding: try JSONSerialization.data(withJSONObject: answers.map { [$0.prompt, $0.reply] }), as: UTF8.self)
        let argumentJSON = String(decoding: try JSONSerialization.data(withJSONObject: arguments), as: UTF8.self)
        process.arguments = ["python3", "-c", script, program, argumentJSON, answerJSON]
        process.environment = replacingEnvironment ?? sandbox.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let result = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return (result["screen"] as? String ?? "", Int32(result["status"] as? Int ?? -1))
    }

    @Test func passphraseIsTypedTwiceWithoutEcho() throws {
        let sandbox = Sandbox()
        let phrase = "fake-typed-passphrase-42"
        let (screen, status) = try onTerminal(
            sandbox, ["init", "--passphrase", "--kdf", "interactive"],
            answers: [("New passphrase: ", phrase), ("Type it again: ", phrase)], environment: ["CLOAK_KEY_FILE": ""])
        #expect(status == 0, "\(screen)")
        #expect(screen.contains("New passphrase: ") && screen.contains("Type it again: "))
        #expect(!screen.contains(phrase), "the passphrase was echoed: \(screen)")
        let check = try sandbox.run(["keyslot", "list"], environment: ["CLOAK_KEY_FILE": ""])
        #expect(check.stdout.contains("passphrase") && check.stdout.contains("argon2id, 2 passes, 64 MiB"))
        // The prompt also unlocks: a wrong passphrase fails with exit 5, the right one works.
        let wrong = try onTerminal(sandbox, ["realm", "add", "prod", "--token-url", Sandbox.tokenURL],
                                   answers: [("Passphrase for", "fake-not-it-at-all")], environment: ["CLOAK_KEY_FILE": ""])
        #expect(wrong.status == 5, "\(wrong.screen)")
        let right = try onTerminal(sandbox, ["realm", "add", "prod", "--token-url", Sandbox.tokenURL],
                                   answers: [("Passphrase for", phrase)], environment: ["CLOAK_KEY_FILE": ""])
        #expect(right.status == 0, "\(right.screen)")
        #expect(!right.screen.contains(phrase))
    }

    @Test func mismatchedPassphrasesCreateNothing() throws {
        let sandbox = Sandbox()
        let (screen, status) = try onTerminal(
            sandbox, ["init", "--passphrase", "--kdf", "interactive"],
            answers: [("New passphrase: ", "fake-first-passphrase"), ("Type it again: ", "fake-other-passphrase")],
            environment: ["CLOAK_KEY_FILE": ""])
        #expect(status == 2 && screen.contains("differ"), "\(screen)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.vault))
    }

    @Test func clientSecretIsPromptedWithoutEcho() throws {
        let sandbox = Sandbox()
        try sandbox.ok("init")
        try sandbox.ok("realm", "add", "prod", "--token-url", Sandbox.tokenURL)
        let secret = "fake-prompted-client-secret"
        let (screen, status) = try onTerminal(sandbox, ["client", "add", "--no-verify", "prod/orders", "--client-id", "orders-svc"],
                                              answers: [("Client secret for prod/orders: ", secret)])
        #expect(status == 0, "\(screen)")
        #expect(!screen.contains(secret), "the secret was echoed: \(screen)")
        #expect(try sandbox.ok("client", "show", "prod/orders").stdout.contains("version 1"))
    }
}
