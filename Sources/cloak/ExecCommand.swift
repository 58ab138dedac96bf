import ArgumentParser
import Cloakroom

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
            The command replaces cloak (exec), so its exit code and signals are the caller's to see. \
            It gets the token in $ACCESS_TOKEN (or --env-var NAME) and its expiry in \
            $ACCESS_TOKEN_EXPIRES_AT; never the client secret.
            """
    )

    @OptionGroup var options: VaultOptions
    @Argument(help: ArgumentHelp("The client.", valueName: "realm/name")) var ref: String
    @Option(name: .customLong("env-var"), help: "The variable that holds the token.") var envVar = "ACCESS_TOKEN"
    @Option(help: "A scope to request instead of the client's own; repeat for several.") var scope: [String] = []
    @Option(help: "An audience to request instead of the client's own.") var audience: String?
    @Option(name: .customLong("min-ttl"), help: "Seconds the token must stay valid when the command starts (default 30).")
    var minTTL: Double = 30
    @Argument(parsing: .postTerminator, help: ArgumentHelp("The command and its arguments, after --.", valueName: "command"))
    var command: [String] = []

    func validate() throws {
        guard !command.isEmpty else { throw ValidationError("give the command to run after --, e.g. cloak exec prod/orders -- env") }
        try Environment.checkVariableName(envVar)
    }

    func run() throws {
        let grant = try TokenCommand.grant(options, ref: ref, scopes: scope, audience: audience, minTTL: minTTL, refresh: false)
        setenv(envVar, grant.token.value, 1)
        setenv(envVar + "_EXPIRES_AT", Output.time(grant.token.expiresAt), 1)
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
}
