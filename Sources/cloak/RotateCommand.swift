import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RotateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Replace client secrets through the Keycloak admin API, without ever losing one.",
        discussion: """
            Each rotation is journaled: the new secret is sealed in the vault before it is sent, \
            pushed to Keycloak, verified with a token request, and only then made current. If the \
            IdP refuses it, the old secret is put back. If cloak is killed half-way, the next \
            command that touches the client (or `cloak rotate --resume`) asks the IdP which \
            secret it holds and finishes or undoes the rotation.

            The realm needs an admin client (`cloak realm update R --admin-client R/NAME`) whose \
            service account has the realm-management role manage-clients.

            Examples:
              cloak rotate prod/orders
              cloak rotate --realm prod --due --parallel 8
              cloak rotate --realm prod --all --dry-run
              cloak rotate --rollback prod/orders
              cloak rotate --resume
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: ArgumentHelp("Clients to rotate.", valueName: "realm/name"), completion: Completion.clients) var refs: [String] = []
    @Option(help: "Rotate clients of this realm (with --all or --due).", completion: Completion.realms) var realm: String?
    @Flag(help: "Every client of --realm.") var all = false
    @Flag(help: "Clients whose --rotate-every interval has passed (of --realm, or of every realm).") var due = false
    @Flag(help: "Show the plan; change nothing.") var dryRun = false
    @Flag(help: "Restore the newest kept previous secret instead of making a new one.") var rollback = false
    @Flag(help: "Finish or undo interrupted rotations (of the clients given, or all).") var resume = false
    @Flag(help: "Let Keycloak generate the secret (POST …/client-secret) instead of choosing it.") var serverGenerated = false
    @Flag(help: "After verifying, end the old secret's dual validity when the realm's rotation policy kept it.") var invalidateRotated = false
    @Option(help: "Length of a chosen secret (22–255; 86 is what Keycloak 26.7+ generates).") var length = ClientSecret.defaultGeneratedLength
    @Option(help: "Rotations at once.") var parallel = 4
    @Option(name: .customLong("per-realm"), help: "Rotations at once within one realm.") var perRealm = 4
    @Flag(help: "Print nothing unless something fails (for cron, which mails whatever is printed).") var quiet = false
    @OptionGroup var confirmation: ConfirmationOptions

    func validate() throws {
        let bulk = all || due
        if [rollback, resume, bulk].filter({ $0 }).count > 1 { throw ValidationError("--rollback, --resume and --all/--due do not combine.") }
        if all && due { throw ValidationError("--all already includes --due.") }
        if all && realm == nil { throw ValidationError("--all needs --realm R: rotating every client of every realm at once is never what was meant.") }
        if realm != nil && !bulk && !resume { throw ValidationError("--realm needs --all, --due or --resume.") }
        if realm != nil && !refs.isEmpty { throw ValidationError("give clients or --realm, not both.") }
        if bulk && !refs.isEmpty { throw ValidationError("give clients or --all/--due, not both.") }
        if refs.isEmpty && !bulk && !resume { throw ValidationError("name the clients to rotate, or use --realm R --all, --due or --resume.") }
        if serverGenerated && rollback { throw ValidationError("--rollback restores a known secret; --server-generated does not apply.") }
        if quiet && (dryRun || output.json) { throw ValidationError("--quiet prints only failures; --\(dryRun ? "dry-run" : "json") asks for the whole report.") }
        guard (1...64).contains(parallel), (1...64).contains(perRealm) else { throw ValidationError("--parallel and --per-realm take 1 to 64.") }
        guard (22...255).contains(length) else {
            throw ValidationError("--length takes 22 to 255 characters (22 gives 128 bits; Keycloak stores at most 255).")
        }
    }

    func run() throws {
        let vault = try options.openVault()
        let action: SecretRotator.Action = rollback ? .rollback : resume ? .resume : .rotate
        let targets = try plan(vault)
        if dryRun {
            let adminClients = Set(try vault.realms().compactMap(\.adminClient))
            return printPlan(SecretRotator.order(of: targets, adminClients: adminClients), vault: vault, action: action)
        }
        guard !targets.isEmpty else {
            if output.json { return Output.json(.object(["results": .array([]), "rotated": .number(0), "skipped": .number(0), "failed": .number(0)])) }
            if quiet { return }
            return Terminal.note(resume ? "no interrupted rotations." : "nothing is due.")
        }
        if all {
            // Every client of a realm at once: asked first on a terminal (--dry-run shows the plan), --yes elsewhere.
            try confirmation.confirm("rotate all \(targets.count) client(s) of realm \(realm ?? "") (`--dry-run` shows the plan)")
        }

        let broker = try options.broker(over: vault.unlock(with: options.credentials(for: vault)))
        var rotatorOptions = SecretRotator.Options()
        rotatorOptions.serverGenerated = serverGenerated
        rotatorOptions.invalidateRotated = invalidateRotated
        rotatorOptions.secretLength = length
        rotatorOptions.clock = VaultOptions.clock
        #if CLOAK_TEST_HOOKS
        rotatorOptions.checkpoint = TestHooks.crashAfter
        #endif
        let rotator = SecretRotator(broker: broker, options: rotatorOptions)

        let bar = ProgressBar(enabled: targets.count > 1 && !quiet && isatty(2) == 1)
        let start = ContinuousClock.now
        let (parallel, perRealm) = (parallel, perRealm)
        let reports = try blocking {
            // `--due` from cron on several hosts sharing a team vault: each due client once.
            try await rotator.run(due ? .due : action, on: targets, parallel: parallel, perRealm: perRealm) { done, total, failed in
                bar.show(done: done, total: total, failed: failed)
            }
        }
        bar.clear()
        try finish(reports, elapsed: .now - start, single: targets.count == 1)
    }

    /// The clients this invocation is about, in a stable order.
    private func plan(_ vault: Vault) throws -> [ClientRef] {
        if !refs.isEmpty {
            var seen = Set<ClientRef>()
            return try refs.map { try ClientRef($0) }.filter { seen.insert($0).inserted }
        }
        let realmName = try realm.map { try Name($0, of: "realm name") }
        let status = try vault.rotationStatus(in: realmName)
        if resume { return status.filter(\.hasOpenRotation).map(\.client) }
        if all { return status.map(\.client) }
        let now = VaultOptions.clock()
        return status.filter { $0.isDue(at: now) || $0.hasOpenRotation }.map(\.client)
    }

    private func printPlan(_ targets: [ClientRef], vault: Vault, action: SecretRotator.Action) {
        let status = Dictionary(((try? vault.rotationStatus()) ?? []).map { ($0.client, $0) }, uniquingKeysWith: { a, _ in a })
        let realms = Dictionary(((try? vault.realms()) ?? []).map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        let adminClients = Set(realms.values.compactMap(\.adminClient))
        func why(_ ref: ClientRef) -> String {
            let reason = { () -> String in
                guard let entry = status[ref] else { return "requested" }
                if entry.hasOpenRotation { return "interrupted rotation to settle" }
                if due { return "due (every \(Durations.text(entry.rotateEvery?.inSeconds ?? 0)))" }
                return action == .rollback ? "roll back to version \(entry.previousVersions.last.map(String.init) ?? "none")" : "requested"
            }()
            return targets.count > 1 && adminClients.contains(ref) ? reason + "; last and alone (an admin client)" : reason
        }
        func problem(_ ref: ClientRef) -> String? {
            guard let realm = realms[ref.realm] else { return "no such realm" }
            if status[ref] == nil { return "no such client" }
            if realm.adminClient == nil { return "realm has no admin client" }
            if action == .rollback, status[ref]?.previousVersions.isEmpty != false { return "no previous secret kept" }
            return nil
        }
        if output.json {
            return Output.json(.object([
                "action": .string(action.rawValue),
                "dry_run": .bool(true),
                "clients": .array(targets.map { ref in
                    .object([
                        "client": .string(ref.description),
                        "secret_version": .optional(status[ref]?.secretVersion),
                        "reason": .string(why(ref)),
                        "admin_client": .optional(realms[ref.realm]?.adminClient?.description),
                        "problem": .optional(problem(ref)),
                    ])
                }),
            ]))
        }
        Terminal.note("dry run: \(targets.count) client\(targets.count == 1 ? "" : "s") would be \(action == .rotate ? "rotated" : action == .rollback ? "rolled back" : "resumed"); nothing was changed.")
        Output.table(["CLIENT", "SECRET", "REASON", "ADMIN CLIENT", "PROBLEM"], targets.map { ref in
            [ref.description, status[ref]?.secretVersion.map { "v\($0)" } ?? "-", why(ref),
             realms[ref.realm]?.adminClient?.description ?? "-", problem(ref) ?? "-"]
        })
    }

    private func finish(_ reports: [SecretRotator.Report], elapsed: Duration, single: Bool) throws {
        if single, let report = reports.first {
            switch report.result {
            case .failure(let error): throw error
            case .success(let outcome):
                if output.json { return Output.json(.object(["results": .array([JSON(report)])])) }
                if quiet { return }
                Terminal.note(Self.sentence(outcome))
                for note in outcome.notes { Terminal.note("  note: \(note)") }
                return
            }
        }
        let failures = reports.compactMap { report -> (any Error)? in
            if case .failure(let error) = report.result { return error }
            return nil
        }
        // Left to another host of a team vault (`--due`): not done here, not failed either.
        let skipped = reports.filter { (try? $0.result.get().result) == .skipped }.count
        if output.json {
            Output.json(.object([
                "results": .array(reports.map(JSON.init)),
                "rotated": .number(Int64(reports.count - failures.count - skipped)),
                "skipped": .number(Int64(skipped)),
                "failed": .number(Int64(failures.count)),
                "milliseconds": .number(Int64(elapsed / .milliseconds(1))),
            ]))
        } else if !quiet || !failures.isEmpty {
            // Quiet: the failures alone, with the summary that counts them.
            let shown = quiet ? reports.filter { if case .failure = $0.result { true } else { false } } : reports
            Output.table(["CLIENT", "RESULT", "SECRET", "TIME", "DETAIL"], shown.map { report in
                switch report.result {
                case .success(let outcome):
                    [report.client.description, outcome.result.rawValue, Self.versions(outcome), Durations.milliseconds(report.duration),
                     outcome.notes.joined(separator: "; ").ifEmpty("-")]
                case .failure(let error):
                    [report.client.description, Self.kind(of: error), "-", Durations.milliseconds(report.duration), Advice.explain(error)]
                }
            })
            Terminal.note("\(reports.count - failures.count - skipped) of \(reports.count) done in \(Durations.milliseconds(elapsed))"
                          + (skipped == 0 ? "" : "; \(skipped) left to another process") + (failures.isEmpty ? "" : "; \(failures.count) failed"))
        }
        guard failures.isEmpty else {
            // Unresolved rotations need `--resume`; say so with their own code above other failures.
            let unresolved = failures.contains { ($0 as? RotationError)?.kind == .unresolved }
            throw Reported.rotationsFailed(unresolved: unresolved)
        }
    }

    static func sentence(_ outcome: SecretRotator.Outcome) -> String {
        let versions = versions(outcome)
        switch outcome.result {
        case .rotated: return "rotated \(outcome.client): secret \(versions), verified with the IdP"
        case .rolledBack: return "rolled back \(outcome.client): the previous secret is current again as \(versions), verified with the IdP"
        case .finished: return "finished the interrupted rotation of \(outcome.client): secret \(versions)"
        case .undone: return "undid the interrupted rotation of \(outcome.client): the IdP holds its current secret (v\(outcome.fromVersion ?? 0))"
        case .nothing: return "\(outcome.client) has no interrupted rotation"
        case .skipped: return "skipped \(outcome.client)"
        }
    }

    static func versions(_ outcome: SecretRotator.Outcome) -> String {
        guard let from = outcome.fromVersion, let to = outcome.toVersion else { return "-" }
        return outcome.result == .undone ? "v\(from)" : "v\(from) → v\(to)"
    }

    static func kind(of error: any Error) -> String {
        if let error = error as? RotationError { return error.kind == .unresolved ? "unresolved" : error.kind == .adminRefused ? "refused" : "failed" }
        return "failed"
    }
}

extension JSON {
    init(_ report: SecretRotator.Report) {
        let milliseconds = Int64(report.duration / .milliseconds(1))
        switch report.result {
        case .success(let outcome):
            self = .object([
                "client": .string(report.client.description),
                "result": .string(outcome.result.rawValue),
                "from_version": .optional(outcome.fromVersion),
                "to_version": .optional(outcome.result == .undone ? nil : outcome.toVersion),
                "notes": .strings(outcome.notes),
                "code": .null,
                "error": .null,
                "milliseconds": .number(milliseconds),
            ])
        case .failure(let error):
            self = .object([
                "client": .string(report.client.description),
                "result": .string(RotateCommand.kind(of: error)),
                "from_version": .null,
                "to_version": .null,
                "notes": .array([]),
                "code": .string((error as? any CloakroomError)?.code.rawValue ?? "internal"),
                "error": .string(Advice.explain(error)),
                "milliseconds": .number(milliseconds),
            ])
        }
    }
}
