import ArgumentParser
import Cloakroom
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs one `cloak` invocation and turns every outcome into an exit status: the one place
/// where errors meet exit codes (see the README's table).
enum CLI {
    static func main(_ arguments: [String]) -> Int32 {
        // What each audit event of this run records as its command: the line as typed. cloak's
        // arguments never carry a secret (secrets come from stdin, a prompt or a file descriptor).
        AuditContext.$command.withValue(AuditContext.commandLine(["cloak"] + arguments)) {
            do {
                var command = try Cloak.parseAsRoot(CommandLineShape.normalise(arguments))
                try command.run()
                return 0
            } catch {
                return report(error, debug: arguments.contains("--debug"))
            }
        }
    }

    static func report(_ error: any Error, debug: Bool) -> Int32 {
        switch error {
        case let error as any CloakroomError:
            Terminal.error(Advice.explain(error))
            if debug, let underlying = error.underlying { Terminal.error("(\(error.code.rawValue)) \(underlying)") }
            return ExitStatus(error.code).rawValue
        case let error as UsageError:
            Terminal.error(error.message)
            return ExitStatus.usage.rawValue
        case let outcome as Reported:
            return status(of: outcome)
        case let problem as AgentProblem:
            Terminal.error("\(problem.detail) (the agent on \(problem.socket) answered)")
            return problem.status.rawValue
        default:
            // ArgumentParser's own outcomes: help and version (success) or a usage error.
            let message = Cloak.fullMessage(for: error)
            if Cloak.exitCode(for: error) == .success {
                if !message.isEmpty { print(message) }
                return 0
            }
            if let exit = error as? ExitCode { return exit.rawValue }
            Terminal.error(inCloaksVoice(message))
            return ExitStatus.usage.rawValue
        }
    }
}

extension CLI {
    /// argument-parser's usage errors as cloak's own read: one line, lower case, and where the
    /// options are listed instead of the whole usage synopsis.
    /// "Error: Unknown option '--formt'. Did you mean '--format'?\nUsage: …\n  See 'cloak token --help' …"
    /// becomes "unknown option '--formt'; did you mean '--format'? (`cloak token --help` lists the options.)"
    static func inCloaksVoice(_ message: String) -> String {
        let lines = message.split(separator: "\n").map { $0.drop { $0 == " " } }
        guard var first = lines.first.map(String.init) else { return message }
        if first.hasPrefix("Error: ") { first.removeFirst(7) }
        if let initial = first.first, initial.isUppercase, first.dropFirst().first?.isLowercase == true {
            first = initial.lowercased() + first.dropFirst()
        }
        first = first.replacing(". Did you mean", with: "; did you mean")
        guard let see = lines.first(where: { $0.hasPrefix("See '") }), let command = see.split(separator: "'").dropFirst().first else { return first }
        return first + " (`\(command)` lists the options.)"
    }
}

/// How a command ended that has told the user already (a table of failures, a doctor report):
/// what is left is its exit status, decided by `CLI.status(of:)`.
enum Reported: Error {
    /// A check found a problem (`doctor`, `log` on a broken chain).
    case unhealthy
    /// Some rotations of a bulk run failed; `unresolved` when one needs `--resume`.
    case rotationsFailed(unresolved: Bool)
    /// The IdP refused (or could not be asked about) a credential being imported.
    case credentialRefused(TokenError)
    /// `exec` could not run the command: `errno` from `execvp`.
    case execFailed(errno: Int32)
}

extension CLI {
    static func status(of outcome: Reported) -> Int32 {
        switch outcome {
        case .unhealthy: ExitStatus.unhealthy.rawValue
        case .rotationsFailed(let unresolved): (unresolved ? ExitStatus.rotationUnresolved : .rotationFailed).rawValue
        case .credentialRefused(let error): ExitStatus(error.code).rawValue
        // 127 and 126 are what shells use for a command not found and one that cannot run.
        case .execFailed(let code): code == ENOENT ? 127 : 126
        }
    }
}

/// A running agent refused a request or failed it: its code decides the exit status, as the
/// same error here would have. The agent's own `forbidden` (its policy refused) is exit 5, as
/// for a vault this user cannot unlock: the user lacks what it takes to get the token.
struct AgentProblem: Error {
    var code: String
    var detail: String
    var socket: String

    var status: ExitStatus {
        if let code = ErrorCode(rawValue: code) { return ExitStatus(code) }
        return code == "forbidden" ? .cannotUnlock : .internalError
    }
}

/// A mistake in how `cloak` was called that ArgumentParser cannot see (conflicting flags).
struct UsageError: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

/// `cloak`'s exit codes. Documented in the README's one table; never renumbered.
enum ExitStatus: Int32 {
    case success = 0
    case internalError = 1
    case usage = 2
    case notFound = 3
    case conflict = 4
    case cannotUnlock = 5
    case corrupted = 6
    case incompatible = 7
    case filesystem = 8
    case busy = 9
    case unhealthy = 10
    case credentialsRejected = 11
    case idpUnavailable = 12
    case idpMalformed = 13
    case idpRefused = 14
    case adminRefused = 15
    case rotationFailed = 16
    case rotationUnresolved = 17
    case tokenInvalid = 18
    case vaultUnavailable = 19

    /// The one mapping from the library's codes to exit statuses.
    init(_ code: ErrorCode) {
        switch code {
        case .invalidInput: self = .usage
        case .notFound, .unknownAtIdP: self = .notFound
        case .alreadyExists, .conflict: self = .conflict
        case .cannotUnlock: self = .cannotUnlock
        case .corrupted: self = .corrupted
        case .notAVault, .newerSchema: self = .incompatible
        case .permissions, .io: self = .filesystem
        case .busy: self = .busy
        case .vaultUnavailable: self = .vaultUnavailable
        case .credentialsRejected: self = .credentialsRejected
        case .idpUnavailable: self = .idpUnavailable
        case .idpMalformed: self = .idpMalformed
        case .idpRefused: self = .idpRefused
        case .tokenInvalid: self = .tokenInvalid
        case .adminRefused: self = .adminRefused
        case .rotationFailed: self = .rotationFailed
        case .rotationUnresolved: self = .rotationUnresolved
        }
    }
}
