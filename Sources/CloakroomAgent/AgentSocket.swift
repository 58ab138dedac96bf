import Cloakroom
#if canImport(Glibc)
internal import Glibc
#elseif canImport(Musl)
internal import Musl
#elseif canImport(Darwin)
internal import Darwin
#endif

/// Where the agent's socket is, and the checks that make it safe to serve on or to trust.
public enum AgentSocket {
    /// `$CLOAK_AGENT_SOCK`; else `$XDG_RUNTIME_DIR/cloakroom/agent.sock` (the per-user runtime
    /// directory systemd makes, 0700); else `VAULT.agent/agent.sock`, a 0700 directory beside the
    /// vault, like its `VAULT.locks/`. A team vault (a `postgresql://` URL) has no directory of its
    /// own: its agent's socket is `~/.cache/cloakroom/agent-HASH.sock`, HASH from the URL, so that
    /// agents of two team vaults on one host do not meet.
    public static func defaultPath(vaultPath: String, environment: (String) -> String?) -> String {
        if let path = environment("CLOAK_AGENT_SOCK"), !path.isEmpty { return path }
        if let runtime = environment("XDG_RUNTIME_DIR"), runtime.hasPrefix("/") { return runtime + "/cloakroom/agent.sock" }
        if Vault.isServerLocation(vaultPath) {
            let home = environment("HOME").flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "/tmp"
            return home + "/.cache/cloakroom/agent-" + Sodium.digest(Array(vaultPath.utf8), length: 8).hex + ".sock"
        }
        return vaultPath + ".agent/agent.sock"
    }

    /// Makes the socket's directory (0700) if it is missing, and checks that it belongs to this
    /// user and that nobody else can write to it (who could would replace the socket). When
    /// others may connect (`shared`) it is made 0711: they can reach the socket, not list it.
    /// - Throws: `VaultError` `.permissions` when it is not safe.
    static func prepareDirectory(_ directory: String, shared: Bool) throws {
        try FileSystem.createDirectories(directory, mode: 0o700)
        guard let status = FileSystem.status(of: directory), status.isDirectory else {
            throw VaultError(.permissions, "\(directory) is not a directory; the agent's socket cannot go there.")
        }
        guard status.owner == UInt32(getuid()) else {
            throw VaultError(.permissions, "\(directory) belongs to uid \(status.owner), not to this user (uid \(getuid())): another user could replace the agent's socket. Choose a directory of your own.")
        }
        guard status.mode & 0o022 == 0 else {
            throw VaultError(.permissions, "other users can write to \(directory) (mode \(String(status.mode, radix: 8))) and so replace the agent's socket: make it 0700, or choose another directory.")
        }
        if shared, status.mode & 0o011 != 0o011 {
            guard chmod(directory, mode_t(status.mode | 0o011)) == 0 else { throw FileSystem.failure(errno, "cannot open \(directory) to the policy's users") }
        }
    }

    /// The socket's mode: 0600, or 0666 when the policy admits other users (each request's peer
    /// is checked against it all the same).
    static func restrict(_ path: String, shared: Bool) throws {
        guard chmod(path, shared ? 0o666 : 0o600) == 0 else { throw FileSystem.failure(errno, "cannot set the mode of the agent's socket \(path)") }
    }

    /// Removes a socket left by an agent that is gone; refuses when one answers there, or when
    /// something else is at `path`.
    static func removeStale(_ path: String) throws {
        guard let status = FileSystem.status(of: path) else { return }
        guard status.isSocket else {
            throw VaultError(.conflict, "\(path) exists and is a \(status.kind), not a socket; remove it or choose another path for the socket.")
        }
        if AgentClient.connect(path) != nil {
            throw VaultError(.conflict, "an agent is already serving on \(path); stop it first, or give this one another socket path.")
        }
        FileSystem.remove(path)
    }

    /// Whether `path` is a socket this user owns: `cloak` trusts no other (a socket another user
    /// placed could hand out tokens of its choosing).
    static func isOwnSocket(_ path: String) -> Bool {
        guard let status = FileSystem.status(of: path), status.isSocket else { return false }
        return status.owner == UInt32(getuid())
    }
}
