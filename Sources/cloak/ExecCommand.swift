import ArgumentParser
import Cloakroom
import CloakroomAgent

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct ExecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command with a valid access token in its environment.",
        discussion: """
            cloak exec prod/orders -- ./sync-orders --since yesterday
            cloak exec --env ORDERS_TOKEN=prod/orders --env BILLING_TOKEN=prod/billing -- ./app
            The command replaces cloak (exec), so its exit code and signals are the caller's to see. \
            It gets the token in $ACCESS_TOKEN (or --env-var NAME) and its expiry in \
            $ACCESS_TOKEN_EXPIRES_AT; with --env, each client's token in a variable of the app's own \
            naming; never a client secret. A token in a variable dies with its lifetime: for a \
            command that runs longer, --token-file NAME=REALM/CLIENT sets $NAME to a file a running \
            `cloak agent` keeps holding a fresh token for as long as the command runs. \
            CLOAK_VAULT and CLOAK_KEY_FILE are not passed on, unless --keep-env.

            Examples:
              cloak exec prod/orders -- ./sync-orders
              cloak exec --env ORDERS=prod/orders --env BILLING=prod/billing -- ./report
              cloak exec --token-file ORDERS_TOKEN_FILE=prod/orders -- ./service
            """
    )

    @OptionGroup var options: VaultOptions
    @Argument(help: ArgumentHelp("The client whose token goes in --env-var (or use --env).", valueName: "realm/name"), completion: Completion.clients) var ref: String?
    @Option(name: .customLong("env-var"), help: "The variable that holds the token of realm/name.") var envVar = "ACCESS_TOKEN"
    @Option(name: .customLong("env"), help: ArgumentHelp("Put this client's token in this variable; repeat for several.", valueName: "NAME=REALM/CLIENT"))
    var variables: [String] = []
    @Option(name: .customLong("token-file"), help: ArgumentHelp("Set this variable to a file the agent keeps holding this client's token; repeat for several.", valueName: "NAME=REALM/CLIENT"))
    var tokenFiles: [String] = []
    @Option(help: "A scope to request instead of the client's own; repeat for several.") var scope: [String] = []
    @Option(help: "An audience to request instead of the client's own.") var audience: String?
    @Option(name: .customLong("min-ttl"), help: "Seconds the token must stay valid when the command starts.")
    var minTTL: Quantity = 30
    @Flag(name: .customLong("keep-env"), help: "Pass CLOAK_VAULT and CLOAK_KEY_FILE on to the command.") var keepEnvironment = false
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --, e.g. cloak exec prod/orders -- env") }
        guard ref != nil || !variables.isEmpty || !tokenFiles.isEmpty else {
            throw ValidationError("name a client (cloak exec prod/orders -- …) or give --env NAME=REALM/CLIENT")
        }
        try Environment.checkVariableName(envVar)
        for assignment in variables { _ = try Self.assignment(assignment, option: "--env") }
        for assignment in tokenFiles { _ = try Self.assignment(assignment, option: "--token-file") }
    }

    /// `NAME=REALM/CLIENT`, checked.
    static func assignment(_ text: String, option: String) throws -> (name: String, client: ClientRef) {
        guard let equals = text.firstIndex(of: "=") else {
            throw ValidationError("\(option) takes NAME=REALM/CLIENT, not '\(text.escapingControlCharacters)'.")
        }
        let name = String(text[..<equals])
        try Environment.checkVariableName(name, option: option)
        return (name, try ClientRef(String(text[text.index(after: equals)...])))
    }

    func run() throws {
        if let ref {
            let grant = try TokenCommand.grant(options, ref: ref, scopes: scope, audience: audience, minTTL: minTTL.value, refresh: false)
            setenv(envVar, grant.token.value, 1)
            setenv(envVar + "_EXPIRES_AT", Output.time(grant.token.expiresAt), 1)
        }
        for (name, client) in try variables.map({ try Self.assignment($0, option: "--env") }) {
            let grant = try TokenCommand.grant(options, ref: client.description, scopes: scope, audience: audience, minTTL: minTTL.value, refresh: false)
            setenv(name, grant.token.value, 1)
        }
        for (name, client) in try tokenFiles.map({ try Self.assignment($0, option: "--token-file") }) {
            setenv(name, try agentSink(for: client), 1)
        }
        if !keepEnvironment {
            unsetenv("CLOAK_VAULT")
            unsetenv("CLOAK_KEY_FILE")
        }
        // exec keeps the calling thread's signal mask, and without this reset the command did not
        // die of its own SIGTERM (ExecTests.signalsAreTheCommandsOwn failed): something in the
        // runtime leaves signals blocked on the main thread. The command starts with none blocked.
        var none = sigset_t()
        sigemptyset(&none)
        sigprocmask(SIG_SETMASK, &none, nil)
        CoreDumps.restoreForExec()
        let argv = command.map { strdup($0) } + [nil]
        execvp(command[0], argv)
        // Only reached when exec failed.
        let code = errno
        Terminal.error("cannot run \(command[0]): \(String(cString: strerror(code)))")
        throw Reported.execFailed(errno: code)
    }

    /// A file the agent keeps fresh for this process, which the command becomes by exec (same
    /// pid: the agent keeps the file while it runs, and removes it after).
    private func agentSink(for client: ClientRef) throws -> String {
        let vaultPath = options.vaultPath
        let socket = AgentSocket.defaultPath(vaultPath: vaultPath, environment: Environment.value)
        switch AgentToken.sink(socketPath: socket, vaultPath: vaultPath, client: client, timeout: try options.deadline + .seconds(5)) {
        case nil:
            throw AgentProblem(code: ErrorCode.notFound.rawValue, detail: "--token-file needs a running agent for \(vaultPath), and none answers on \(socket): start one with `cloak agent`, or set CLOAK_AGENT_SOCK.", socket: socket)
        case .success(let path):
            return path
        case .failure(let problem):
            throw AgentProblem(code: problem.code, detail: problem.detail, socket: socket)
        }
    }
}
