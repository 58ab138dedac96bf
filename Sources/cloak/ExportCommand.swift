import ArgumentParser
import Cloakroom

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write realms and clients, with their current secrets, to a sealed bundle file.",
        discussion: """
            The bundle is sealed with its own key, never the vault's: a key file (--bundle-key-file, \
            created if missing) or a passphrase (--bundle-passphrase typed twice, or \
            --bundle-passphrase-fd N). It holds each client's current secret only: no previous \
            versions, cached tokens or audit log. The file is written with mode 0600, all at once, \
            and an existing file is replaced only with --force. Merge it into another vault with \
            `cloak import bundle FILE`.

            Examples:
              cloak export team.bundle --bundle-key-file bundle.key
              cloak export prod.bundle --realm prod --bundle-passphrase
            """
    )

    @OptionGroup var options: VaultOptions
    @Argument(help: "The bundle file to write.") var file: String
    @Option(help: "Export only this realm (repeat for several; default: every realm).", completion: Completion.realms) var realm: [String] = []
    @OptionGroup var key: BundleKeyOptions
    @Option(help: "Argon2id cost of a bundle passphrase: interactive, moderate or sensitive.") var kdf: KDFCost = .moderate
    @Flag(help: "Replace the file if it exists.") var force = false

    func run() throws {
        let names = try realm.map { try Name($0, of: "realm name") }
        let path = Paths.absolute(file)
        if !force, FileManager.default.fileExists(atPath: path) {
            throw VaultError(.alreadyExists, "\(path) exists already; choose another file, or pass --force to replace it.")
        }
        let unlocked = try options.unlockVault()
        let bundle = try unlocked.bundle(of: names.isEmpty ? nil : names)
        let credential = try key.forSealing()
        if case .keyFile(let file) = credential,
           try unlocked.vault.keyslots().contains(where: { $0.fingerprint == file.fingerprint }) {
            Terminal.note("warning: \(file.path) also unlocks this vault; whoever can open the bundle can open the vault too. A bundle's own key file is safer.")
        }
        try bundle.write(to: path, sealedWith: credential, cost: kdf.parameters, replacing: force)
        // Only a written bundle took secrets out of the vault; a refused write leaves no trace.
        try unlocked.recordExport(of: bundle, to: path)
        let exported = Set(bundle.clients.map(\.ref))
        for status in try unlocked.vault.rotationStatus() where status.hasOpenRotation && exported.contains(status.client) {
            Terminal.note("warning: \(status.client) has an unfinished rotation; the bundle holds its current secret, which the IdP may no longer accept. Run `cloak rotate --resume \(status.client)` and export again.")
        }
        Terminal.note("exported \(bundle.clients.count) client(s) in \(bundle.realms.count) realm(s) to \(path)")
    }
}
