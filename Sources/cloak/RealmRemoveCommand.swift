import ArgumentParser
import Cloakroom

extension RealmCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a realm (with --force, also its clients and their secrets).")

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to remove.") var name: String
        @Flag(help: "Remove the realm's clients and their sealed secrets too.") var force = false

        func run() throws {
            let name = try Name(name, of: "realm name")
            let removed = try options.unlockVault().removeRealm(name, force: force)
            Terminal.note("removed realm \(name)" + (removed > 0 ? " and its \(removed) client(s)" : ""))
        }
    }
}
