import ArgumentParser
import Cloakroom
import CloakroomAgent

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Print a valid access token for a client: cached when it can be, fetched when it must.",
        discussion: """
            The token comes from the vault's sealed cache while it has more than --min-ttl seconds \
            left and has used less than 80% of its life; otherwise from the identity provider, with \
            one request per expiry however many processes ask at once. If the identity provider is \
            down, a cached token that is still valid is printed instead of failing, with a warning \
            on stderr; with --refresh it is not, and the command fails (exit 12).

            Examples:
              cloak token prod/orders
              curl -H "$(cloak token prod/orders --format header)" "$ORDERS_API"
              eval "$(cloak token prod/orders --format env)"
              cloak token prod/orders --format json --min-ttl 120
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case raw, json, header, env
        case execCredential = "exec-credential"
    }

    @OptionGroup var options: VaultOptions
    @Argument(help: ArgumentHelp("The client.", valueName: "realm/name"), completion: Completion.clients) var ref: String
    @Option(help: "raw (the token), json, header (an Authorization line), env (export lines), or exec-credential (Kubernetes).")
    var format: Format = .raw
    @Option(help: "A scope to request instead of the client's own; repeat for several.") var scope: [String] = []
    @Option(help: "An audience to request instead of the client's own.") var audience: String?
    @Option(name: .customLong("min-ttl"), help: "Seconds the token must stay valid.") var minTTL: Quantity = 30
    @Flag(help: "Ignore the cache and ask the identity provider; fail if it cannot answer.") var refresh = false
    @Option(name: .customLong("env-var"), help: "The variable name for --format env.") var envVar = "ACCESS_TOKEN"

    func validate() throws {
        // --format env prints shell assignments: a name like X';touch /tmp/x;' would be shell code.
        try Environment.checkVariableName(envVar)
    }

    func run() throws {
        // Asked before a token is fetched: kubectl rejects an answer in another version.
        let version = format == .execCredential ? try ExecCredential.requestedVersion() : ExecCredential.v1
        let grant = try Self.grant(options, ref: ref, scopes: scope, audience: audience, minTTL: minTTL.value, refresh: refresh)
        Output.write(TokenOutput.render(grant, format: format, envVar: envVar, now: Date(), execCredentialVersion: version))
    }

    /// A token for `ref`: the vault's cache first, synchronously; the broker's network path only
    /// on a miss. Shared by `token` and `exec`.
    /// A running agent for this vault is asked first: it holds the vault unlocked and the token
    /// fresh (and a passphrase vault then asks for no passphrase).
    static func grant(_ options: VaultOptions, ref: String, scopes: [String], audience: String?, minTTL: Double,
                      refresh: Bool) throws -> TokenBroker.Grant {
        if let grant = try fromAgent(options, ref: ref, scopes: scopes, audience: audience, minTTL: minTTL, refresh: refresh) {
            return grant
        }
        return try grant(broker(options, ref: ref, minTTL: minTTL), ref: ref, scopes: scopes, audience: audience, refresh: refresh)
    }

    /// The agent's answer, if an agent of this user serves this vault on its socket; `nil` when
    /// none does (the vault is read instead). Its refusals and failures are this command's, with
    /// the exit status the same error would have had here.
    static func fromAgent(_ options: VaultOptions, ref: String, scopes: [String], audience: String?, minTTL: Double,
                          refresh: Bool) throws -> TokenBroker.Grant? {
        let clientRef = try ClientRef(ref)
        _ = try Durations.check(minTTL, option: "--min-ttl", range: 0...Durations.longest)
        let vaultPath = options.vaultPath
        let socket = AgentSocket.defaultPath(vaultPath: vaultPath, environment: Environment.value)
        let answer = AgentToken.ask(socketPath: socket, vaultPath: vaultPath, client: clientRef.description,
                                    scopes: scopes.flatMap { $0.split(separator: " ").map(String.init) }, audience: audience,
                                    minimumTTL: .milliseconds(Int64(minTTL * 1000)), refresh: refresh,
                                    timeout: try options.deadline + .seconds(5))
        switch answer {
        case nil:
            return nil
        case .granted(let grant):
            return grant
        case .problem(let problem):
            throw AgentProblem(code: problem.code, detail: problem.detail, socket: socket)
        }
    }

    /// A broker over the unlocked vault, for one command.
    static func broker(_ options: VaultOptions, ref: String, minTTL: Double) throws -> TokenBroker {
        _ = try ClientRef(ref)
        _ = try Durations.check(minTTL, option: "--min-ttl", range: 0...Durations.longest)
        return try options.broker(over: options.unlockVault()) { $0.minimumTTL = .seconds(minTTL) }
    }

    static func grant(_ broker: TokenBroker, ref: String, scopes: [String], audience: String?, refresh: Bool) throws -> TokenBroker.Grant {
        let scopes = scopes.flatMap { $0.split(separator: " ").map(String.init) }
        // After FastToken's miss the entry it read comes along: one read before the lock, not three.
        let lookup = HandOff.cacheLookup(for: ref, scopes: scopes, audience: audience)
        if !refresh, case .unread = lookup, let grant = try broker.cachedToken(for: ref, scopes: scopes, audience: audience) {
            return grant
        }
        let grant = try blocking { try await broker.token(for: ref, scopes: scopes, audience: audience, refresh: refresh, cache: lookup) }
        if let warning = grant.warning { Terminal.note("warning: " + warning) }
        return grant
    }
}
