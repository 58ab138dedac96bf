import ArgumentParser
import Cloakroom

extension RealmCommand {
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a realm (with --force, also its clients and their secrets).",
            discussion: """
                Examples:
                  cloak realm remove stage
                  cloak realm remove stage --force --yes
                """)

        @OptionGroup var options: VaultOptions
        @Argument(help: "The realm to remove.", completion: Completion.realms) var name: String
        @Flag(help: "Remove the realm's clients and their sealed secrets too.") var force = false
        @OptionGroup var confirmation: ConfirmationOptions

        func run() throws {
            let name = try Name(name, of: "realm name")
            let vault = try options.unlockVault()
            _ = try vault.vault.realm(named: name)
            let clients = try vault.vault.clients(in: name).count
            // Without --force a realm with clients is refused (exit 4) before anything is asked.
            if clients == 0 || force {
                try confirmation.confirm("remove realm \(name)" + (clients > 0 ? " and its \(clients) client(s) with their secrets" : ""))
            }
            let removed = try vault.removeRealm(name, force: force)
            Terminal.note("removed realm \(name)" + (removed > 0 ? " and its \(removed) client(s)" : ""))
        }
    }
}
