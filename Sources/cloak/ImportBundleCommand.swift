import ArgumentParser
import Cloakroom

struct ImportBundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle",
        abstract: "Merge a sealed bundle from `cloak export` into the vault, and report what happened.",
        discussion: """
            The whole bundle is checked and opened before the vault is touched, then merged in one \
            transaction: a damaged, altered or wrongly keyed bundle, or any conflict that was not \
            given a policy, imports nothing. Identical realms and clients are left as they are. \
            A name this vault uses for something different is a conflict — for a realm, another \
            token URL; for a client, another setting or secret: --on-conflict skip keeps this \
            vault's, overwrite replaces the client (its old secret kept as previous), rename \
            imports the bundle's as NAME-2.

            Examples:
              cloak import bundle team.bundle --bundle-key-file bundle.key
              cloak import bundle team.bundle --on-conflict skip --bundle-passphrase
            """
    )

    @OptionGroup var options: VaultOptions
    @OptionGroup var output: OutputOptions
    @Argument(help: "The bundle file.") var file: String
    @Option(name: .customLong("on-conflict"), help: "refuse (import nothing if a name is taken), skip, overwrite or rename.")
    var onConflict: ConflictChoice = .refuse
    @OptionGroup var key: BundleKeyOptions

    func run() throws {
        let path = Paths.absolute(file)
        let sealed = try SealedBundle.read(from: path)
        let vault = try options.openVault()
        let bundle = try sealed.open(with: key.forOpening(sealed))
        let unlocked = try vault.unlock(with: options.credentials(for: vault))
        let report = try unlocked.importBundle(bundle, onConflict: onConflict.policy, from: path)
        if output.json {
            Output.json(.object([
                "bundle": .string(path),
                "exported_at": .string(Output.time(bundle.exportedAt)),
                "on_conflict": .string(onConflict.rawValue),
                "realms": .array(report.realms.map { realm in
                    JSON.object(["realm": .string(realm.name.rawValue), "imported_as": .optional(realm.importedAs?.rawValue),
                             "action": .string(realm.action.rawValue), "detail": .string(Advice.with(realm.detail, realm.next))])
                }),
                "clients": .array(report.clients.map { client in
                    JSON.object(["client": .string(client.ref.description), "imported_as": .optional(client.importedAs?.description),
                             "action": .string(client.action.rawValue), "detail": .string(client.detail)])
                }),
            ]))
        } else {
            Output.table(["REALM", "ACTION", "IN THIS VAULT", "DETAIL"], report.realms.map {
                [$0.name.rawValue, $0.action.rawValue, $0.importedAs?.rawValue ?? "-", Advice.with($0.detail, $0.next)]
            })
            Output.write("\n")
            Output.table(["CLIENT", "ACTION", "IN THIS VAULT", "DETAIL"], report.clients.map {
                [$0.ref.description, $0.action.rawValue, $0.importedAs?.description ?? "-", $0.detail]
            })
        }
        Terminal.note("imported \(path): \(report.clients.count) client(s) in \(report.realms.count) realm(s)" +
                      (report.clients.isEmpty ? "" : ": " + report.summary))
    }
}

/// `--on-conflict`: `ConflictPolicy` by its command-line names.
enum ConflictChoice: String, ExpressibleByArgument, CaseIterable {
    case refuse, skip, overwrite, rename

    var policy: ConflictPolicy {
        switch self {
        case .refuse: .refuse
        case .skip: .skip
        case .overwrite: .overwrite
        case .rename: .rename
        }
    }
}
