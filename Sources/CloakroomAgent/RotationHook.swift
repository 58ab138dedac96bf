#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif
import Cloakroom
import Dispatch

/// `--on-rotate CMD`: after every rotation the agent runs `/bin/sh -c CMD` with `CLOAK_REALM`,
/// `CLOAK_CLIENT` and `CLOAK_SECRET_VERSION` in its environment (never the secret), and
/// `CLOAK_AGENT_SOCK` so that it can ask the agent for the new token. The vault's settings
/// (`CLOAK_VAULT`, `CLOAK_KEY_FILE`) are not passed on. The agent does not wait for it.
public struct RotationHook: Sendable {
    /// The shell command.
    public var command: String
    /// The agent's socket, for the hook to ask.
    public var socketPath: String

    /// A hook running `command`.
    public init(command: String, socketPath: String) { (self.command, self.socketPath) = (command, socketPath) }

    /// Starts the hook for `event` (a finished rotation); `done` gets its exit status (or the
    /// `errno` of a failed start, negated).
    public func run(for event: AgentEvent, done: @escaping @Sendable (Int32) -> Void) {
        var environment: [String] = []
        var index = 0
        while let entry = environ[index] {
            let text = String(cString: entry)
            if !text.hasPrefix("CLOAK_VAULT="), !text.hasPrefix("CLOAK_KEY_FILE="), !text.hasPrefix("CLOAK_REALM="),
               !text.hasPrefix("CLOAK_CLIENT="), !text.hasPrefix("CLOAK_SECRET_VERSION="), !text.hasPrefix("CLOAK_AGENT_SOCK=") {
                environment.append(text)
            }
            index += 1
        }
        environment += ["CLOAK_REALM=\(event.client.realm)", "CLOAK_CLIENT=\(event.client.name)",
                        "CLOAK_SECRET_VERSION=\(event.secretVersion.map(String.init) ?? "")", "CLOAK_AGENT_SOCK=\(socketPath)"]
        let arguments = ["/bin/sh", "-c", command]
        var pid = pid_t()
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for pointer in argv + envp { free(pointer) } }
        let started = posix_spawn(&pid, "/bin/sh", nil, nil, argv, envp)
        guard started == 0 else { return done(-started) }
        let child = pid
        // waitpid blocks: on a Dispatch thread, never on one of Swift concurrency's.
        DispatchQueue.global().async {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0, errno == EINTR {}
            done((status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
        }
    }
}
