import ArgumentParser
import Cloakroom

extension ClientCommand {
    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a client's rotation schedule, or accept its row as it is (--reauthenticate).",
            discussion: """
                To change its secret, use `cloak rotate`; to change its client_id, remove and add it again.

                --reauthenticate accepts a client that cloak refuses because its row was changed \
                outside cloak, or was stored before client rows were authenticated: check \
                `cloak client show REALM/NAME` first, since what it shows is what will be used. \
                `cloak client update REALM --reauthenticate` accepts, in one step, every client of \
                the realm stored before client rows were authenticated (after an upgrade); a client \
                changed outside cloak is still accepted only by its own name.

                Examples:
                  cloak client update prod/orders --rotate-every 30d
                  cloak client update prod/orders --no-rotate-every
                  cloak client update prod --reauthenticate
                """
        )

        @OptionGroup var options: VaultOptions
        @Argument(help: ArgumentHelp("The client to change (with --reauthenticate alone, a realm: its clients from before client rows were authenticated).", valueName: "realm/name"), completion: Completion.clients)
        var ref: String
        @Option(name: .customLong("rotate-every"), help: ArgumentHelp("Rotate the secret on this schedule with `cloak rotate --due` (e.g. 90d).", valueName: "duration"))
        var rotateEvery: String?
        @Flag(name: .customLong("no-rotate-every"), help: "Rotate it only when asked.") var noRotateEvery = false
        @Flag(help: "Accept the client's name, realm, settings and secret versions as `cloak client show` shows them.")
        var reauthenticate = false

        func validate() throws {
            guard !(rotateEvery != nil && noRotateEvery), reauthenticate || rotateEvery != nil || noRotateEvery else {
                throw ValidationError("give --rotate-every DURATION, --no-rotate-every or --reauthenticate.")
            }
        }

        func run() throws {
            if reauthenticate, rotateEvery == nil, !noRotateEvery, !ref.contains("/") {
                let realm = try Name(ref, of: "realm name")
                let accepted = try options.unlockVault().reauthenticateUntaggedClients(in: realm)
                Terminal.note(accepted.isEmpty ? "no client of realm \(realm) is waiting to be accepted"
                              : "accepted \(accepted.count) client\(accepted.count == 1 ? "" : "s") of realm \(realm) as `cloak client list` shows them: "
                                + accepted.map(\.name.rawValue).joined(separator: ", "))
                return
            }
            let ref = try ClientRef(ref)
            let interval = try rotateEvery.map { try Durations.parse($0, option: "--rotate-every", range: 60...Durations.longest) }
            let vault = try options.unlockVault()
            if reauthenticate {
                try vault.reauthenticateClient(ref)
                Terminal.note("\(ref) is accepted as `cloak client show \(ref)` shows it")
            }
            guard rotateEvery != nil || noRotateEvery else { return }
            try vault.setRotationInterval(interval.map { .seconds($0) }, of: ref)
            Terminal.note(interval.map { "\(ref) is rotated every \(Durations.text($0)) by `cloak rotate --due`" } ?? "\(ref) is rotated only when asked")
        }
    }
}
