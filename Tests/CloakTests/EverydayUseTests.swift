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

    /// Item 13: `eval "$(cloak token … --format env)"` reaches the programs the shell starts.
    @Test func theEnvFormatExportsItsVariables() throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let token = try sandbox.ok("token", "r1/basic").stdout
        let child = try sandbox.run([], viaShell: #"eval "$("$0" token r1/basic --format env)" && sh -c 'printf "%s\n" "$ACCESS_TOKEN"'"#)
        #expect(child.status == 0 && child.stdout == token, "\(child)")
    }

    /// Item 14: kubectl names the ExecCredential version it reads in KUBERNETES_EXEC_INFO (the
    /// kubeconfig's `exec.apiVersion`); cloak answers in that one, v1 or v1beta1, and refuses
    /// others before asking for a token. Then, where kubectl is installed, the real kubectl runs
    /// cloak as its credential plugin against an API server on loopback, with either version.
    @Test func kubectlGetsAnExecCredentialInTheVersionItAsksFor() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        func info(_ version: String) -> [String: String] {
            ["KUBERNETES_EXEC_INFO": #"{"kind":"ExecCredential","apiVersion":"\#(version)","spec":{"interactive":false}}"#]
        }
        for version in ["client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1"] {
            let outcome = try sandbox.run(["token", "r1/basic", "--format", "exec-credential"], environment: info(version))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8)) as? [String: Any], "\(outcome)")
            #expect(object["apiVersion"] as? String == version && object["kind"] as? String == "ExecCredential")
            let status = try #require(object["status"] as? [String: Any])
            #expect((status["token"] as? String)?.split(separator: ".").count == 3 && (status["expirationTimestamp"] as? String)?.hasSuffix("Z") == true)
        }
        let before = try await idp.tokenRequests()
        let old = try sandbox.run(["token", "r1/post", "--format", "exec-credential"], environment: info("client.authentication.k8s.io/v1alpha1"))
        #expect(old.status == 2 && old.stdout.isEmpty && old.stderr.contains("v1beta1") && old.stderr.contains("apiVersion"), "\(old)")
        let garbled = try sandbox.run(["token", "r1/post", "--format", "exec-credential"], environment: ["KUBERNETES_EXEC_INFO": "{"])
        #expect(garbled.status == 2 && garbled.stderr.contains("KUBERNETES_EXEC_INFO"), "\(garbled)")
        #expect(try await idp.tokenRequests() == before, "a token was fetched for an answer kubectl would reject")

        guard let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first(where: FileManager.default.isExecutableFile) else { return }
        let server = try EchoingAPIServer()
        let token = try sandbox.ok("token", "r1/basic").stdout.trimmingCharacters(in: .newlines)
        for version in ["client.authentication.k8s.io/v1beta1", "client.authentication.k8s.io/v1"] {
            let kubeconfig = sandbox.directory.file("kubeconfig")
            try """
                apiVersion: v1
                kind: Config
                clusters:
                - name: loopback
                  cluster: {server: "\(server.url)", certificate-authority: "\(server.certificate)"}
                users:
                - name: cloak
                  user:
                    exec:
                      apiVersion: \(version)
                      command: \(Sandbox.binary)
                      args: [token, r1/basic, --format, exec-credential]
                      interactiveMode: Never
                contexts:
                - name: loopback
                  context: {cluster: loopback, user: cloak}
                current-context: loopback
                """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
            let process = Process(), output = Pipe(), errors = Pipe()
            process.executableURL = URL(fileURLWithPath: kubectl)
            process.arguments = ["--kubeconfig", kubeconfig, "--request-timeout", "20s", "get", "--raw", "/api/v1/namespaces"]
            process.environment = sandbox.environment
            (process.standardOutput, process.standardError) = (output, errors)
            try process.run()
            let out = output.fileHandleForReading.readDataToEndOfFile(), err = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let seen = String(decoding: out, as: UTF8.self)
            #expect(process.terminationStatus == 0 && seen.contains("Bearer \(token)"), "\(version): \(seen) \(String(decoding: err, as: UTF8.self))")
        }
    }
}

extension EverydayUseTests {
    /// Item 15: `rotate --due --quiet` from cron says nothing when nothing was due or everything
    /// went well (exit 0, so cron mails nothing), and names only what failed when something did.
    @Test func quietRotationFromCronPrintsOnlyFailures() async throws {
        let idp = try IdP(configuration: RotationTests.configuration)
        let sandbox = try RotationTests.sandbox(idp)
        func quietly(hoursOn hours: Int) throws -> Outcome {
            try sandbox.run(["rotate", "--due", "--quiet"], environment: ["CLOAK_TEST_CLOCK_OFFSET": "\(hours * 3600)"])
        }
        let nothing = try quietly(hoursOn: 0)
        #expect(nothing.status == 0 && nothing.stdout.isEmpty && nothing.stderr.isEmpty, "\(nothing)")
        for ref in ["r1/orders", "r1/billing"] { try sandbox.ok("client", "update", ref, "--rotate-every", "1h") }
        let rotated = try quietly(hoursOn: 2)
        #expect(rotated.status == 0 && rotated.stdout.isEmpty && rotated.stderr.isEmpty, "\(rotated)")
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders") == 2 && RotationTests.secretVersion(sandbox, "r1/billing") == 2)

        try sandbox.ok("client", "add", "--no-verify", "r1/ghost", "--client-id", "ghost-svc", "--rotate-every", "1h", "--secret-stdin", stdin: "fake-ghost-0000")
        let failed = try quietly(hoursOn: 4)
        #expect(failed.status == 16, "\(failed)")
        #expect(failed.stdout.contains("r1/ghost") && !failed.stdout.contains("r1/orders") && !failed.stdout.contains("r1/billing"), "\(failed)")
        #expect(failed.stderr.contains("2 of 3 done") && failed.stderr.contains("1 failed"), "\(failed)")
        #expect(try RotationTests.secretVersion(sandbox, "r1/orders") == 3)
        #expect(try sandbox.run(["rotate", "--due", "--quiet", "--json"]).status == 2)
    }
}

extension EverydayUseTests {
    /// Items 2 and 3: `cloak init` given no key makes `~/.config/cloakroom/vault.key` (or under
    /// `$XDG_CONFIG_HOME`), its missing directories 0700, and every command given no key uses
    /// it, the fast cached-token path included. `CLOAK_KEY_FILE=""` means no key file at all. A
    /// key file named in directories that do not exist yet is made with them.
    @Test func aKeyFileInTheDefaultPlaceNeedsNoOption() async throws {
        let idp = try IdP()
        let sandbox = Sandbox()
        let unset = "unset CLOAK_KEY_FILE; exec \"$0\" "
        func run(_ command: String, stdin: String? = nil, environment: [String: String] = [:]) throws -> Outcome {
            try sandbox.run([], stdin: stdin, environment: environment, viaShell: unset + command)
        }
        let created = try run("init")
        #expect(created.status == 0 && created.stderr.contains("created key file"), "\(created)")
        let config = sandbox.directory.file(".config")
        #expect(try sandbox.mode(of: config + "/cloakroom/vault.key") == 0o600)
        #expect(try sandbox.mode(of: config + "/cloakroom") == 0o700 && sandbox.mode(of: config) == 0o700)
        #expect(try run("realm add r1 --token-url \(idp.tokenURL)").status == 0)
        #expect(try run("client add r1/basic --client-id broker-svc --secret-stdin --no-verify", stdin: IdP.basicSecret).status == 0)
        let (miss, hit) = (try run("token r1/basic --format json"), try run("token r1/basic --format json"))
        #expect(miss.status == 0 && miss.stdout.contains(#""source": "idp""#), "\(miss)")
        #expect(hit.status == 0 && hit.stdout.contains(#""source": "cache""#), "\(hit)")
        let none = try sandbox.run(["client", "remove", "r1/basic"], environment: ["CLOAK_KEY_FILE": ""])
        #expect(none.status == 5 && none.stderr.contains("--key-fd"), "\(none)")

        let xdg = Sandbox()
        let elsewhere = try xdg.run([], environment: ["XDG_CONFIG_HOME": xdg.directory.file("xdg")], viaShell: unset + "init")
        #expect(elsewhere.status == 0 && FileManager.default.fileExists(atPath: xdg.directory.file("xdg/cloakroom/vault.key")), "\(elsewhere)")

        let deep = Sandbox()
        let named = deep.directory.file("keys/team/vault.key")
        try deep.ok("init", "--key-file", named)
        #expect(try deep.mode(of: named) == 0o600 && deep.mode(of: deep.directory.file("keys/team")) == 0o700)
    }

    /// Item 3: `--key-fd N` reads the key from a descriptor, 64 hex digits or 32 raw bytes, and
    /// writes no file; anything else is refused with what a key looks like, a wrong one is exit 5.
    @Test func aKeyFromADescriptorNeedsNoFile() throws {
        let sandbox = Sandbox()
        let hex = String(repeating: "0f1e2d3c4b5a6978", count: 4)
        func file(_ name: String, _ data: Data) throws -> String {
            let path = sandbox.directory.file(name)
            try data.write(to: URL(fileURLWithPath: path))
            return path
        }
        let hexFile = try file("key.hex", Data((hex + "\n").utf8))
        let rawFile = try file("key.raw", Data(stride(from: 0, to: hex.count, by: 2).map { i in
            UInt8(hex[hex.index(hex.startIndex, offsetBy: i)...].prefix(2), radix: 16)!
        }))
        let wrongFile = try file("wrong.hex", Data(String(repeating: "ab", count: 32).utf8))
        let shortFile = try file("short.hex", Data("0f1e2d".utf8))
        func run(_ command: String, key: String, stdin: String? = nil) throws -> Outcome {
            try sandbox.run([], stdin: stdin, viaShell: "unset CLOAK_KEY_FILE; exec \"$0\" \(command) --key-fd 3 3<'\(key)'")
        }
        let created = try run("init", key: hexFile)
        #expect(created.status == 0 && created.stderr.contains("file descriptor 3"), "\(created)")
        #expect(!FileManager.default.fileExists(atPath: sandbox.directory.file(".config/cloakroom/vault.key")), "a key file was written")
        #expect(try run("realm add prod --token-url \(Sandbox.tokenURL)", key: rawFile).status == 0)
        #expect(try run("client add prod/orders --client-id orders-svc --secret-stdin --no-verify", key: hexFile, stdin: Sandbox.ordersSecret).status == 0)
        let before = try sandbox.contents
        let wrong = try run("client remove prod/orders", key: wrongFile)
        #expect(wrong.status == 5, "\(wrong)")
        let short = try run("client remove prod/orders", key: shortFile)
        #expect(short.status == 2 && short.stderr.contains("64 hex digits"), "\(short)")
        #expect(try sandbox.contents == before)
    }
}

extension EverydayUseTests {
    /// Item 12: a `--min-ttl` longer than the whole life of the IdP's tokens sent every call to
    /// the IdP without a word. The token is still served, with a warning naming the lifetime.
    @Test func aMinimumTTLLongerThanTheTokensLifeIsWarnedOf() async throws {
        let idp = try IdP()
        let sandbox = try Sandbox.tokens(idp)
        let (first, json) = try sandbox.tokenJSON("r1/basic", ["--min-ttl", "86400"])
        #expect(first.status == 0 && json["source"] as? String == "idp", "\(first)")
        // cloak-idp's tokens live 300 s; measured from when the request was sent, to a JWT `exp`
        // in whole seconds, a little less.
        #expect((first.stderr.contains("valid for 300 s") || first.stderr.contains("valid for 299 s")) && first.stderr.contains("86400 s"), "\(first)")
        let second = try sandbox.run(["token", "r1/basic", "--min-ttl", "86400"])
        #expect(second.status == 0 && second.stderr.contains("lifespan"), "\(second)")
        #expect(try await idp.tokenRequests() == 2)
        let usual = try sandbox.run(["token", "r1/basic"])
        #expect(usual.status == 0 && usual.stderr.isEmpty, "\(usual)")
    }
}

extension EverydayUseTests {
    /// Items 17 and 19: a refused secret points at `cloak realm sync` (a copy left behind by a
    /// rotation elsewhere is the usual cause); a refused *grant* — Keycloak's client without a
    /// service account, or a server without client credentials (`unsupported_grant_type`) —
    /// says so, and does not send the user to check a secret that was never the problem.
    @Test func aRefusedGrantIsToldApartFromARefusedSecret() async throws {
        let idp = try IdP(configuration: """
            {"realms":[{"realm":"r1","clients":[
              {"clientId":"broker-svc","secret":"\(IdP.basicSecret)"},
              {"clientId":"no-sa-svc","secret":"fake-no-sa-0000","serviceAccountsEnabled":false}]}]}
            """)
        let sandbox = try Sandbox.tokens(idp)
        try sandbox.ok("client", "add", "--no-verify", "r1/no-sa", "--client-id", "no-sa-svc", "--secret-stdin", stdin: "fake-no-sa-0000")
        try sandbox.ok("client", "add", "--no-verify", "r1/stale", "--client-id", "broker-svc", "--secret-stdin", stdin: "fake-stale-copy-0000")

        let stale = try sandbox.run(["token", "r1/stale"])
        #expect(stale.status == 11 && stale.stderr.contains("cloak realm sync r1") && stale.stderr.contains("cloak client show r1/stale"), "\(stale)")
        let noServiceAccount = try sandbox.run(["token", "r1/no-sa"])
        #expect(noServiceAccount.status == 11 && noServiceAccount.stderr.contains("use the client-credentials grant"), "\(noServiceAccount)")
        #expect(noServiceAccount.stderr.contains("Service accounts roles") && !noServiceAccount.stderr.contains("realm sync"), "\(noServiceAccount)")

        let server = try OneAnswerServer(status: 400, body: #"{"error":"unsupported_grant_type","error_description":"grant not supported"}"#)
        try sandbox.ok("realm", "add", "plain", "--token-url", server.url + "/token")
        try sandbox.ok("client", "add", "--no-verify", "plain/app", "--client-id", "app", "--secret-stdin", stdin: "fake-plain-0000")
        let unsupported = try sandbox.run(["token", "plain/app"])
        #expect(unsupported.status == 11 && unsupported.stderr.contains("unsupported_grant_type") && unsupported.stderr.contains("use the client-credentials grant"), "\(unsupported)")
        #expect(!unsupported.stderr.contains("client show") && !unsupported.stderr.contains("fake-"), "\(unsupported)")
    }
}

extension EverydayUseTests {
    /// Item 18: every network failure is one line naming what happened (refused, timed out, a
    /// name that does not resolve, which TLS check failed), where (host:port), and what to do;
    /// never NIO's error-set wording, BoringSSL's stack or a build path.
    @Test func networkFailuresAreOneLineSayingWhatWhereAndWhatToDo() async throws {
        let idp = try IdP()
        let certificate = try EchoingAPIServer()  // HTTPS with a certificate nobody here trusts
        let plain = try OneAnswerServer(status: 200, body: "{}")
        let sandbox = Sandbox()
        try sandbox.ok("init")
        let port = { (url: String) in String(url.split(separator: ":").last!) }
        let realms = [
            ("refused", "http://127.0.0.1:1/token", 12, ["127.0.0.1:1", "connection refused", "is the server running"]),
            ("dns", "https://no-such-host.invalid/token", 12, ["no-such-host.invalid:443", "does not resolve", "DNS"]),
            ("slow", idp.tokenURL, 12, ["timed out", "is the server up"]),
            ("untrusted", certificate.url + "/token", 14, ["127.0.0.1:\(port(certificate.url))", "did not verify", "--ca-file"]),
            ("notls", "https://127.0.0.1:\(port(plain.url))/token", 14, ["does not speak TLS on this port", "cloak realm show notls"]),
        ]
        try await idp.fault(#"{"fault":"latency","delay_ms":5000,"route":"token"}"#)
        for (realm, url, status, words) in realms {
            try sandbox.ok("realm", "add", realm, "--token-url", url)
            try sandbox.ok("client", "add", "--no-verify", "\(realm)/app", "--client-id", "app", "--secret-stdin", stdin: "fake-net-0000")
            let outcome = try sandbox.run(["token", "\(realm)/app"], environment: ["CLOAK_DEADLINE": "1"])
            #expect(outcome.status == Int32(status), "\(realm): \(outcome)")
            #expect(outcome.stderr.split(separator: "\n").count == 1, "\(realm): one line: \(outcome)")
            for word in words { #expect(outcome.stderr.contains(word), "\(realm): \(word): \(outcome)") }
            for noise in ["error set", "errno", "OPENSSL_internal", ".build", "BoringSSL", "SocketAddressError", "fake-net"] {
                #expect(!outcome.stderr.contains(noise), "\(realm): \(noise): \(outcome)")
            }
        }
    }
}

extension EverydayUseTests {
    /// Item 5: the vault's options before the command work (as git's and kubectl's do), a
    /// mistyped command is answered with the nearest one, and argument-parser's errors read as
    /// cloak's own: one line, lower case, pointing at the command's --help.
    @Test func optionsBeforeTheCommandAndMistypedCommandsAreUnderstood() throws {
        let sandbox = try Sandbox.populated()
        let elsewhere = ["CLOAK_VAULT": sandbox.directory.file("nothing-here.db")]
        let listed = try sandbox.run(["--vault", sandbox.vault, "--key-file", sandbox.keyFile, "client", "list", "--json"], environment: elsewhere)
        #expect(listed.status == 0 && listed.stdout.contains("prod/orders"), "\(listed)")
        let joined = try sandbox.run(["--vault=" + sandbox.vault, "--debug", "realm", "show", "prod"], environment: elsewhere)
        #expect(joined.status == 0 && joined.stdout.contains("prod"), "\(joined)")

        let typo = try sandbox.run(["tokne", "prod/orders"])
        #expect(typo.status == 2 && typo.stderr.contains("Did you mean `cloak token`?"), "\(typo)")
        let nested = try sandbox.run(["--vault", sandbox.vault, "client", "lst"])
        #expect(nested.status == 2 && nested.stderr.contains("Did you mean `cloak client list`?"), "\(nested)")
        let unknown = try sandbox.run(["frobnicate"])
        #expect(unknown.status == 2 && unknown.stderr.contains("'frobnicate' is not a command of `cloak`") && !unknown.stderr.contains("Did you mean"), "\(unknown)")
        let option = try sandbox.run(["token", "prod/orders", "--formt", "json"])
        #expect(option.status == 2 && option.stderr == "cloak: unknown option '--formt'; did you mean '--format'? (`cloak token --help` lists the options.)\n", "\(option)")
        let missing = try sandbox.run(["token"])
        #expect(missing.status == 2 && missing.stderr.split(separator: "\n").count == 1 && missing.stderr.contains("missing expected argument"), "\(missing)")
    }
}

extension EverydayUseTests {
    /// Item 9: destructive commands ask `[y/N]` on a terminal (anything but y/yes keeps all) and
    /// need `--yes` without one — a script never hangs on a question, nor destroys by default.
    @Test func destructiveCommandsAskOnATerminalAndNeedYesWithoutOne() throws {
        let sandbox = try Sandbox.populated()
        let terminal = TerminalTests()
        let before = try sandbox.contents
        for arguments in [["client", "remove", "prod/orders"], ["realm", "remove", "prod", "--force"], ["rotate", "--realm", "prod", "--all"]] {
            let script = try sandbox.run(arguments)
            #expect(script.status == 2 && script.stderr.contains("add --yes") && script.stderr.contains("nothing was changed"), "\(arguments): \(script)")
        }
        let declined = try terminal.onTerminal(sandbox, ["client", "remove", "prod/orders"], answers: [("[y/N]", "n")])
        #expect(declined.status == 2 && declined.screen.contains("Remove client prod/orders and every version of its secret? [y/N]"), "\(declined.screen)")
        #expect(try sandbox.contents == before, "declining changed the vault")
        let accepted = try terminal.onTerminal(sandbox, ["client", "remove", "prod/orders"], answers: [("[y/N]", "y")])
        #expect(accepted.status == 0 && accepted.screen.contains("removed client prod/orders"), "\(accepted.screen)")

        try sandbox.ok("keyslot", "add", "--new-key-file", sandbox.directory.file("second.key"))
        let slot = try terminal.onTerminal(sandbox, ["keyslot", "remove", "2"], answers: [("[y/N]", "")])
        #expect(slot.status == 2 && slot.screen.contains("Remove keyslot 2 (key-file)"), "\(slot.screen)")
        try sandbox.ok("keyslot", "remove", "2", "--yes")
        let realm = try terminal.onTerminal(sandbox, ["realm", "remove", "prod", "--force"], answers: [("[y/N]", "yes")])
        #expect(realm.status == 0 && realm.screen.contains("Remove realm prod and its 1 client(s) with their secrets? [y/N]"), "\(realm.screen)")
    }

    /// Item 8: `rekey` keeps every keyslot it can re-wrap. From a script, a slot nothing given
    /// opens stops it (exit 4, naming `--drop-slot`); on a terminal each such passphrase slot is
    /// asked for, and dropping one is confirmed; `--drop-slot` drops exactly what it names.
    @Test func rekeyKeepsEverySlotItCanAndDropsOnlyWhatItIsToldTo() throws {
        let sandbox = try Sandbox.populated()
        let terminal = TerminalTests()
        let phrase = "fake rekey passphrase 42"
        let phraseFile = sandbox.directory.file("phrase")
        try (phrase + "\n").write(toFile: phraseFile, atomically: true, encoding: .utf8)
        let added = try sandbox.run([], viaShell: "exec \"$0\" keyslot add --new-passphrase --new-passphrase-fd 3 --kdf interactive --label alice 3<'\(phraseFile)'")
        try #require(added.status == 0, "\(added)")
        func slots() throws -> Int { try sandbox.ok("keyslot", "list").stdout.split(separator: "\n").count - 1 }

        let before = try sandbox.contents
        let refused = try sandbox.run(["rekey"])
        #expect(refused.status == 4 && refused.stderr.contains("keyslot(s) 2 (passphrase “alice”)") && refused.stderr.contains("--drop-slot 2"), "\(refused)")
        #expect(try sandbox.contents == before)

        let both = try sandbox.run([], viaShell: "exec \"$0\" rekey --passphrase-fd 3 3<'\(phraseFile)'")
        #expect(both.status == 0 && both.stderr.contains("keyslot(s) 1, 2 kept"), "\(both)")
        let typed = try terminal.onTerminal(sandbox, ["rekey"], answers: [("Passphrase for keyslot 2 “alice”", phrase)])
        #expect(typed.status == 0 && typed.screen.contains("keyslot(s) 1, 2 kept") && !typed.screen.contains(phrase), "\(typed.screen)")
        let kept = try terminal.onTerminal(sandbox, ["rekey"], answers: [("Passphrase for keyslot 2", ""), ("[y/N]", "n")])
        #expect(kept.status == 2 && kept.screen.contains("remove keyslot(s) 2 (passphrase “alice”)"), "\(kept.screen)")
        #expect(try slots() == 2)

        let dropped = try sandbox.run(["rekey", "--drop-slot", "2"])
        #expect(dropped.status == 0 && dropped.stderr.contains("removed keyslot(s) 2"), "\(dropped)")
        #expect(try slots() == 1)
        try sandbox.ok("doctor")
    }
}

extension EverydayUseTests {
    /// Item 6: every command's help has an Examples section, and each option's default is
    /// shown once, as it is typed (`30`, not `30.0` after a "(default 30)" of our own). The
    /// commands are found by walking the help's SUBCOMMANDS sections, so a new one is covered.
    @Test func everyCommandsHelpHasExamplesAndEachDefaultOnce() throws {
        let sandbox = Sandbox()
        var pending: [[String]] = [[]], seen = 0
        while let path = pending.popLast() {
            let help = try sandbox.run(path + ["--help"])
            #expect(help.status == 0, "\(path): \(help)")
            seen += 1
            if !path.isEmpty { #expect(help.stdout.contains("Examples:\n"), "cloak \(path.joined(separator: " ")) has no examples") }
            // An example wider than the help's 80 columns is wrapped, and no longer one to paste.
            let examples = help.stdout.split(separator: "Examples:\n").dropFirst().first?.split(separator: "\n\n").first ?? ""
            for line in examples.split(separator: "\n") where !line.hasPrefix("  ") {
                Issue.record("cloak \(path.joined(separator: " ")): an example is wrapped at: \(line)")
            }
            var options: [String] = [], section = ""
            for line in help.stdout.split(separator: "\n", omittingEmptySubsequences: false) {
                if !line.hasPrefix(" "), line.hasSuffix(":") { section = String(line); continue }
                let entry = line.hasPrefix("  ") && !line.hasPrefix("   ")
                if section == "SUBCOMMANDS:", entry, let name = line.split(separator: " ").first, name != "See" {
                    pending.append(path + [String(name)])
                }
                if section == "OPTIONS:" || section == "ARGUMENTS:" {
                    if entry { options.append(String(line)) } else if !options.isEmpty { options[options.count - 1] += " " + line.drop { $0 == " " } }
                }
            }
            for option in options {
                #expect(option.components(separatedBy: "default").count <= 2, "cloak \(path.joined(separator: " ")): two defaults in \(option)")
                #expect(option.range(of: #"default: -?[0-9]+\.0\)"#, options: .regularExpression) == nil, "cloak \(path.joined(separator: " ")): \(option)")
            }
        }
        #expect(seen > 35, "walked \(seen) commands")
    }
}

extension EverydayUseTests {
    /// Item 4: completion scripts for bash, zsh and fish; realm and client names complete from
    /// the vault's metadata with no key (driven here through bash's own completion function, as
    /// a Tab would), from the vault `--vault` names when the line has one.
    @Test func realmAndClientNamesCompleteWithoutAKey() throws {
        let sandbox = try Sandbox.populated()
        for shell in ["bash", "zsh", "fish"] {
            let script = try sandbox.run(["--generate-completion-script", shell])
            #expect(script.status == 0 && script.stdout.contains("---completion"), "\(shell): \(script)")
        }
        let driver = sandbox.directory.file("complete.bash")
        try #"""
            binary=$1; shift
            source <("$binary" --generate-completion-script bash)
            COMP_WORDS=("$binary" "$@"); COMP_CWORD=$#; COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
            _cloak "$binary" "${COMP_WORDS[-1]}" "${COMP_WORDS[-2]}"
            printf '%s\n' "${COMPREPLY[@]}"
            """#.write(toFile: driver, atomically: true, encoding: .utf8)
        func complete(_ words: [String], environment: [String: String] = [:]) throws -> [String] {
            let process = Process(), output = Pipe()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [driver, Sandbox.binary] + words
            process.environment = sandbox.environment.merging(["CLOAK_KEY_FILE": ""].merging(environment) { $1 }) { $1 }
            (process.standardOutput, process.standardError) = (output, FileHandle.nullDevice)
            try process.run()
            let out = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(words)")
            return String(decoding: out, as: UTF8.self).split(separator: "\n").map(String.init).sorted()
        }
        #expect(try complete(["token", ""]) == ["prod/billing", "prod/orders"])
        #expect(try complete(["client", "show", "prod/o"]) == ["prod/orders"])
        #expect(try complete(["realm", "show", ""]) == ["prod"])
        #expect(try complete(["rotate", "--realm", ""]) == ["prod"])
        let other = try Sandbox.populated()
        try other.ok("realm", "add", "stage", "--token-url", Sandbox.tokenURL)
        #expect(try complete(["realm", "remove", "--vault", other.vault, ""], environment: ["CLOAK_VAULT": sandbox.directory.file("none.db")]) == ["prod", "stage"])
    }
}

/// An OAuth server that cannot do what is asked: every request on 127.0.0.1 gets the same
/// status and JSON body. At most 20 requests, a minute at most; killed by its PID when released.
final class OneAnswerServer {
    let server: PythonServer
    var url: String { server.url }

    static let script = """
        import http.server, signal, sys, time
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        status, body = int(sys.argv[1]), sys.argv[2].encode()
        served = [0]  # requests answered: an idle 0.5 s wait is no answer (counting those ended it after 10 s)
        class Answer(http.server.BaseHTTPRequestHandler):
            def answer(self):
                served[0] += 1
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            do_GET = do_POST = answer
            def log_message(self, *args): pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Answer)
        print("http://127.0.0.1:%d" % server.server_address[1], flush=True)
        server.timeout = 0.5
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and served[0] < 20:
            server.handle_request()
        """

    init(status: Int, body: String) throws {
        server = try PythonServer(script: Self.script, arguments: [String(status), body], what: "the test's OAuth server")
    }
}

/// A Kubernetes API server as far as `kubectl get --raw` can tell: HTTPS on 127.0.0.1 with a
/// throwaway certificate, answering every GET with the Authorization header it was sent. It
/// answers at most 20 requests and stops by itself after a minute; killed by its PID when released.
final class EchoingAPIServer {
    let directory: TemporaryDirectory
    let server: PythonServer
    var url: String { server.url }
    var certificate: String { directory.file("api.crt") }

    static let script = """
        import http.server, json, signal, ssl, sys, time
        signal.pthread_sigmask(signal.SIG_SETMASK, [])
        served = [0]  # requests answered: an idle 0.5 s wait is no answer (counting those ended it after 10 s)
        class Echo(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                served[0] += 1
                body = json.dumps({"kind": "Status", "apiVersion": "v1", "authorization": self.headers.get("Authorization")}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args): pass
        server = http.server.HTTPServer(("127.0.0.1", 0), Echo)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(sys.argv[1], sys.argv[2])
        server.socket = context.wrap_socket(server.socket, server_side=True)
        print("https://127.0.0.1:%d" % server.server_address[1], flush=True)
        server.timeout = 0.5
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and served[0] < 20:
            server.handle_request()
        """

    init() throws {
        let directory = TemporaryDirectory()
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                             "-keyout", directory.file("api.key"), "-out", directory.file("api.crt"),
                             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw RawVault.Failure(description: "openssl could not make the API server's certificate") }
        self.directory = directory
        server = try PythonServer(script: Self.script, arguments: [directory.file("api.crt"), directory.file("api.key")], what: "the test's API server")
    }
}
