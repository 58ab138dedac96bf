import ArgumentParser
import Cloakroom

/// `cloak import dotenv FILE | --batch DIR`: parse, plan, verify, write once, report.
struct ImportDotEnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dotenv",
        abstract: "Move client credentials from .env files into the vault.",
        discussion: """
            Reads CLIENT_ID and CLIENT_SECRET with TOKEN_URL, KEYCLOAK_URL + KEYCLOAK_REALM or a Keycloak \
            OIDC_ISSUER, and prefixed pairs (ORDERS_CLIENT_ID, ORDERS_CLIENT_SECRET: client 'orders'). \
            Missing realms and clients are created; each new credential is checked with a token request \
            first, and if any is refused nothing is imported. Ends by listing the lines of each file \
            that the vault now holds (line numbers and names, never values).

              cloak import dotenv .env --as prod/orders     one credential, named
              cloak import dotenv services.env --as prod    several, named after their prefixes
              cloak import dotenv --batch deploy/ --as prod every *.env and .env* file in deploy/

            Examples:
              cloak import dotenv .env
              cloak import dotenv services/orders/.env --as prod/orders
              cloak import dotenv --batch services/ --skip GITHUB --json
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("The .env file.", valueName: "file")) var file: String?
    @Option(name: .customLong("batch"), help: ArgumentHelp("Import every *.env and .env* file in this directory (not its subdirectories), all or nothing.", valueName: "dir"))
    var batch: String?
    @Option(name: .customLong("as"), help: ArgumentHelp("The realm, or for a file with one credential realm/name (default: the Keycloak realm of the token URL; the client is named after its prefix or client_id).", valueName: "realm[/name]"))
    var target: String?
    @Flag(name: .customLong("no-verify"), help: "Store the credentials without asking the identity provider whether it accepts them.")
    var noVerify = false
    @Option(name: .customLong("only"), help: ArgumentHelp("Import only the credential with this prefix (ORDERS for ORDERS_CLIENT_ID; repeat for several).", valueName: "prefix"))
    var only: [String] = []
    @Option(name: .customLong("skip"), help: ArgumentHelp("Leave the credential with this prefix alone, e.g. GITHUB for another provider's GITHUB_CLIENT_ID (repeat for several).", valueName: "prefix"))
    var skip: [String] = []
    @Option(help: "How the new clients authenticate: basic (client_secret_basic) or post (client_secret_post).")
    var auth: AuthChoice = .basic
    @Option(help: ArgumentHelp("A PEM file of CA certificates to trust, for realms the import creates.", valueName: "path"))
    var caFile: String?
    @Flag(name: .customLong("allow-insecure-http"), help: "Allow plain-http token URLs to hosts other than loopback, for realms the import creates.")
    var allowInsecureHTTP = false

    func validate() throws {
        guard (file == nil) != (batch == nil) else { throw ValidationError("give one .env file, or --batch DIR.") }
        if batch != nil, target?.contains("/") == true {
            throw ValidationError("--batch takes --as REALM only: each client is named after its prefix or client_id.")
        }
    }

    func run() throws {
        var planOptions = DotEnvImportPlan.Options(authMethod: auth.method, caFile: caFile.map(Paths.absolute),
                                                   allowsInsecureHTTP: allowInsecureHTTP, verify: !noVerify)
        if !only.isEmpty { planOptions.onlyPrefixes = Set(only.map { $0.uppercased() }) }
        planOptions.skippedPrefixes = Set(skip.map { $0.uppercased() })
        if let target {
            if target.contains("/") {
                let ref = try ClientRef(target)
                (planOptions.realm, planOptions.name) = (ref.realm, ref.name)
            } else {
                planOptions.realm = try Name(target, of: "realm name")
            }
        }
        let paths = try files()
        let envs = try paths.map { try DotEnv.load(from: $0) }
        for note in envs.flatMap(\.notes) { Terminal.note("note: \(note)") }
        let vault = try options.unlockVault()
        let plan = try vault.planImport(envs, planOptions)
        for note in plan.notes { Terminal.note("note: \(note)") }
        guard !plan.items.isEmpty else {
            throw DotEnvError(file: paths.count == 1 ? paths[0] : batch!, line: nil, message: "no client credentials found (CLIENT_ID and CLIENT_SECRET, maybe prefixed); nothing was imported.")
        }
        if !noVerify {
            let deadline = try options.deadline
            let rejections = try blocking { await plan.verify(deadline: deadline) }
            if let first = rejections.first {
                for rejection in rejections { Terminal.error(Self.describe(rejection)) }
                Terminal.error("nothing was imported.")
                throw Reported.credentialRefused(first.error)
            }
        }
        try vault.apply(plan, verified: !noVerify)
        report(plan)
    }

    /// The file, or the batch directory's files.
    private func files() throws -> [String] {
        guard let batch else { return [Paths.absolute(file!)] }
        let found = try DotEnv.files(in: Paths.absolute(batch))
        for path in found.skipped { Terminal.note("note: \(path) is a symbolic link and was skipped; import it by name if it is meant") }
        guard !found.files.isEmpty else {
            throw DotEnvError(file: batch, line: nil, message: "no .env files here (names ending in .env or starting with .env); nothing was imported.")
        }
        return found.files
    }

    /// Why a credential was not accepted, naming the file and line, never the secret.
    static func describe(_ rejection: DotEnvImportPlan.Rejection) -> String {
        let credential = rejection.item.credential
        let at = "\(credential.file):\(credential.secretEntry.line)"
        switch rejection.error {
        case .rejected(_, let status, let code, _):
            // The usual cause in a real .env: another provider's OAuth pair (GITHUB_CLIENT_ID…)
            // sent to this IdP. Its prefix is what --skip takes.
            let other = credential.prefix.map { " If it belongs to another provider, leave it with --skip \($0)." } ?? ""
            return "\(at): the identity provider rejected \(credential.clientIDEntry.key)/\(credential.secretEntry.key) (client_id \(credential.clientID), for \(rejection.item.ref)): HTTP \(status)\(code.map { " \($0)" } ?? ""). Check the file's values with whoever runs the identity provider.\(other)"
        default:
            return "\(at): cannot check \(rejection.item.ref): \(Advice.explain(rejection.error))"
        }
    }

    private func report(_ plan: DotEnvImportPlan) {
        let result: (DotEnvImportPlan.Item) -> String = {
            $0.action == .alreadyPresent ? "already in the vault" : noVerify ? "imported, not verified" : "imported, verified"
        }
        if output.json {
            return Output.json(.object([
                "realms_created": .strings(plan.newRealms.map(\.name.rawValue)),
                "clients": .array(plan.items.map { item in
                    .object([
                        "client": .string(item.ref.description),
                        "client_id": .string(item.credential.clientID),
                        "files": .strings(item.credentials.map(\.file)),
                        "result": .string(item.action.rawValue == "add" ? "imported" : item.action.rawValue),
                        "verified": .bool(item.action == .add && !noVerify),
                    ])
                }),
                "redundant_lines": .array(plan.redundantEntries.flatMap { file, entries in
                    entries.map { .object(["file": .string(file), "line": .number(Int64($0.line)), "end_line": .number(Int64($0.endLine)), "key": .string($0.key)]) }
                }),
            ]))
        }
        for realm in plan.newRealms {
            Terminal.note("created realm \(realm.name) (token URL \(realm.settings.tokenURL ?? realm.settings.issuer ?? "-"))")
        }
        Output.table(["CLIENT", "CLIENT ID", "FROM", "RESULT"], plan.items.map {
            [$0.ref.description, $0.credential.clientID, "\($0.credential.file):\($0.credential.clientIDEntry.line)", result($0)]
        })
        var text = ""
        for (file, entries) in plan.redundantEntries {
            text += "\nYou can now delete these lines from \(file):\n"
            let width = entries.map { $0.lines.count }.max() ?? 0
            text += entries.map { "  " + String(repeating: " ", count: width - $0.lines.count) + $0.lines + "  " + $0.key + "\n" }.joined()
        }
        if noVerify { text += "\nThe credentials were not verified: check each with `cloak token REALM/NAME` before deleting anything.\n" }
        if plan.redundantEntries.flatMap(\.entries).contains(where: { !["CLIENT_ID", "CLIENT_SECRET"].contains(where: $0.key.uppercased().hasSuffix) }) {
            text += "\nKeep a URL line if your application still reads it for something else.\n"
        }
        Output.write(text)
    }
}
