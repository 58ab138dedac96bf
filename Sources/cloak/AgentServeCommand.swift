import ArgumentParser
import Cloakroom
import CloakroomAgent
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

extension AgentCommand {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unlock the vault once and serve fresh tokens to this host's processes over a Unix socket (the default).",
            discussion: """
                Runs in the foreground until SIGTERM or SIGINT, then answers the requests it has \
                accepted and stops. The API is HTTP/1.1 on the socket: GET /v1/tokens/REALM/NAME \
                (?scope=…&audience=…&min_ttl=…&refresh=true) answers what `cloak token --format json` \
                prints; GET /v1/clients and GET /v1/health. Errors are application/problem+json with \
                the library's code. Only this user may connect (the socket is 0600 in a 0700 \
                directory, and each peer's uid is checked with SO_PEERCRED). Every token asked for is \
                renewed in the background before it is due, so no consumer waits for the identity \
                provider. `cloak token` and `cloak exec` ask a running agent first (socket from \
                $CLOAK_AGENT_SOCK, else the default below) and read the vault when none answers.

                Examples:
                  cloak agent
                  cloak agent --socket /run/cloak/agent.sock --policy policy.json
                  cloak agent --sink prod/orders=/run/orders/token:header --sink-owner orders
                  cloak agent --listen 127.0.0.1:7600 --on-rotate 'systemctl reload orders'
                """
        )

        @OptionGroup var options: VaultOptions
        @Option(help: ArgumentHelp("The socket (default: $CLOAK_AGENT_SOCK, else $XDG_RUNTIME_DIR/cloakroom/agent.sock, else VAULT.agent/agent.sock).", valueName: "path"))
        var socket: String?

        @Option(help: ArgumentHelp("A JSON policy: which users and groups may ask for which clients (default: only this user, every client). SIGHUP re-reads it.", valueName: "path"))
        var policy: String?

        @Option(name: .customLong("sink"), help: ArgumentHelp("Keep this file holding the client's fresh token (raw, json, header or env; default raw); repeat for several.", valueName: "REALM/NAME=PATH[:FORMAT]"))
        var sinks: [String] = []

        @Option(name: .customLong("sink-owner"), help: ArgumentHelp("Give the sink files to this user (and group): as root only.", valueName: "USER[:GROUP]"))
        var sinkOwner: String?

        @Flag(name: .customLong("no-rotate"), help: "Do not rotate clients whose schedule is due (their --rotate-every, or their realm's).")
        var noRotate = false

        @Option(name: .customLong("on-rotate"), help: ArgumentHelp("Run this shell command after each rotation, with CLOAK_REALM, CLOAK_CLIENT and CLOAK_SECRET_VERSION set.", valueName: "command"))
        var onRotate: String?

        @Option(name: .customLong("rotate-parallel"), help: "Scheduled rotations at once.") var rotateParallel = 4
        @Option(name: .customLong("rotate-per-realm"), help: "Scheduled rotations at once in one realm.") var rotatePerRealm = 2
        @Option(name: .customLong("log-format"), help: "text, or json: one JSON object per line.") var logFormat = "text"

        @Option(help: ArgumentHelp("Listen on this loopback address too (127.0.0.0/8 or [::1]), for consumers that cannot reach the socket; each presents a credential from `cloak agent consumer add`.", valueName: "host:port"))
        var listen: String?

        @Option(name: .customLong("rate-limit"), help: "Requests a second each user other than the agent's own may make, bursts of twice that.")
        var rateLimit: Quantity = 50
        @Option(name: .customLong("idle-timeout"), help: "Seconds an idle connection is kept.") var idleTimeout: Quantity = 60
        @Option(name: .customLong("request-timeout"), help: "Seconds a request's head may take to arrive once begun.") var requestTimeout: Quantity = 10

        /// How often the schedule is looked at; for tests (hidden).
        @Option(name: .customLong("schedule-check"), help: .hidden) var scheduleCheck: Double = 60

        func validate() throws {
            for sink in sinks { _ = try Sink(parsing: sink) }
            _ = try listen.map(LoopbackAddress.init)
            guard (1...64).contains(rotateParallel), (1...64).contains(rotatePerRealm) else {
                throw ValidationError("--rotate-parallel and --rotate-per-realm take 1 to 64.")
            }
            guard (0.01...1_000_000).contains(rateLimit.value) else { throw ValidationError("--rate-limit takes 0.01 to 1000000 requests a second.") }
            guard (0.1...86_400).contains(idleTimeout.value), (0.1...3600).contains(requestTimeout.value) else {
                throw ValidationError("--idle-timeout takes 0.1 to 86400 seconds, --request-timeout 0.1 to 3600.")
            }
            guard AgentLogHandler.Format(rawValue: logFormat) != nil else { throw ValidationError("--log-format is text or json.") }
            guard (0.1...3600).contains(scheduleCheck) else { throw ValidationError("--schedule-check takes 0.1 to 3600 seconds.") }
        }

        func run() throws {
            let vaultPath = options.vaultPath
            let socketPath = socket.map(Paths.absolute) ?? AgentSocket.defaultPath(vaultPath: vaultPath, environment: Environment.value)
            let broker = try options.broker(over: options.unlockVault())
            let policyPath = policy.map(Paths.absolute)
            let rules = try policyPath.map(AgentPolicy.load(from:)) ?? .ownerOnly(uid: UInt32(getuid()))
            let owner = try sinkOwner.map(Self.owner)
            let sinkFiles = try sinks.map { text in
                var sink = try Sink(parsing: text)
                sink.owner = owner
                return sink
            }
            var rotatorOptions = SecretRotator.Options()
            rotatorOptions.clock = VaultOptions.clock
            #if CLOAK_TEST_HOOKS
            rotatorOptions.checkpoint = TestHooks.crashAfter
            #endif
            let rotator = SecretRotator(broker: broker, options: rotatorOptions)
            let format = AgentLogHandler.Format(rawValue: logFormat) ?? .text
            let logger = Logger(label: "cloak.agent") { _ in AgentLogHandler(format: format) }
            let service = AgentService(broker: broker, vaultPath: vaultPath, policy: rules,
                                       sinkDirectory: FileSystem.parent(of: socketPath) + "/sinks", rotator: rotator,
                                       rateLimit: rateLimit.value, logger: logger)
            var limits = AgentServer.Limits()
            limits.idleTimeout = .milliseconds(Int64(idleTimeout.value * 1000))
            limits.requestTimeout = .milliseconds(Int64(requestTimeout.value * 1000))
            let serverLimits = limits
            let tcp = try listen.map(LoopbackAddress.init)
            let hook = onRotate.map { RotationHook(command: $0, socketPath: socketPath) }
            var schedule = RotationScheduler.Settings()
            (schedule.parallel, schedule.perRealm) = (rotateParallel, rotatePerRealm)
            schedule.checkEvery = .milliseconds(Int64(scheduleCheck * 1000))
            schedule.jitter = min(schedule.jitter, schedule.checkEvery / 2)
            let scheduler = noRotate ? nil : RotationScheduler(rotator: rotator, broker: broker, settings: schedule) { event in
                service.publish(event)
                guard event.kind == .rotationFinished, let hook else { return }
                hook.run(for: event) { status in
                    logger.info("--on-rotate for \(event.client) \(status < 0 ? "could not start (errno \(-status))" : "exited \(status)")")
                }
            }
            let signals = Signals.waiter([SIGTERM, SIGINT, SIGHUP])
            // Started by systemd for its socket unit: listen on the socket it made.
            let activation = Systemd.takeListeningSocket()
            try blocking {
                let server = try await AgentServer.start(service, socketPath: socketPath, listening: activation, tcp: tcp, limits: serverLimits)
                if let address = server.tcpAddress { logger.info("listening on \(address) for consumers with a credential") }
                Systemd.notify("READY=1\nMAINPID=\(getpid())")
                logger.info("serving \(vaultPath) on \(socketPath) (pid \(getpid()))\(policyPath.map { ", policy \($0)" } ?? ", to this user only")")
                for sink in sinkFiles { try service.add(sink) }
                scheduler?.start()
                while true {
                    let signal = await signals.next()
                    guard signal == SIGHUP else {
                        logger.info("\(signal == SIGTERM ? "SIGTERM" : "SIGINT"): answering the requests in flight, then stopping")
                        Systemd.notify("STOPPING=1")
                        break
                    }
                    guard let policyPath else { logger.info("SIGHUP: no --policy to re-read"); continue }
                    Systemd.notify("RELOADING=1")
                    defer { Systemd.notify("READY=1") }
                    do {
                        service.reload(try AgentPolicy.load(from: policyPath))
                        try server.policyChanged(service)
                        logger.info("SIGHUP: policy \(policyPath) re-read")
                    } catch {
                        logger.info("SIGHUP: \(error) The policy in force is unchanged.")
                    }
                }
                await scheduler?.stop()
                await server.stop()
                service.stop()
                await broker.shutdown()
                logger.info("stopped")
            }
        }

        /// `USER[:GROUP]`, names or numeric ids, as the policy file reads them.
        static func owner(_ text: String) throws -> (uid: UInt32, gid: UInt32) {
            guard getuid() == 0 else { throw UsageError("--sink-owner needs the agent to run as root: only root can give a file away.") }
            let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
            guard let user = parts.first, !user.isEmpty else { throw UsageError("--sink-owner takes USER[:GROUP], not '\(text)'.") }
            let uid = try AgentPolicy.id(of: user, kind: .user)
            let gid = try parts.count > 1 ? AgentPolicy.id(of: parts[1], kind: .group) : AgentPolicy.primaryGroup(of: uid)
            return (uid, gid)
        }

    }
}
