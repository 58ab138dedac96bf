import ArgumentParser
import Cloakroom

struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the vault: permissions, SQLite integrity, schema, and that every sealed value opens.",
        discussion: """
            Exits 10 when any check finds a problem (warnings alone exit 0).

            Examples:
              cloak doctor
              cloak doctor --json
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions

    func run() throws {
        var credentials: [VaultCredential] = []
        var keyProblem: String?
        do {
            credentials = try options.credentials(for: try? options.openVault())
        } catch {
            keyProblem = Advice.explain(error)
        }
        let checkup = Checkup.examine(path: options.vaultPath, credentials: credentials)
        var findings = checkup.findings.map(Finding.init)
        if let keyProblem { findings.append(Finding(check: "unlock", severity: "problem", subject: nil, message: keyProblem)) }
        let healthy = checkup.isHealthy && keyProblem == nil
        if output.json {
            Output.json(.object(["vault": .string(options.vaultPath), "healthy": .bool(healthy), "findings": .array(findings.map(\.json))]))
        } else {
            Output.table(["STATUS", "CHECK", "FINDING"], findings.map { [$0.severity == "ok" ? "ok" : $0.severity.uppercased(), $0.check, $0.message] })
            Terminal.note(healthy ? "the vault is healthy" : "the vault has problems (see above)")
        }
        if !healthy { throw Reported.unhealthy }
    }
}

/// One line of the report: a check, how it went, what it concerns, and what to do.
struct Finding {
    var check: String
    var severity: String
    var subject: String?
    var message: String

    init(check: String, severity: String, subject: String?, message: String) {
        self.check = check
        self.severity = severity
        self.subject = subject
        self.message = message
    }

    init(_ finding: Checkup.Finding) {
        self.init(check: finding.check, severity: finding.severity.rawValue, subject: finding.subject, message: Advice.with(finding.message, finding.next))
    }

    var json: JSON {
        .object(["check": .string(check), "severity": .string(severity), "subject": .optional(subject), "message": .string(message)])
    }
}
