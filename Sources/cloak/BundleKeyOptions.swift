import ArgumentParser
import Cloakroom

/// How a bundle is sealed or opened: its own passphrase or key file, never the vault's key
/// (the vault options `--key-file` and `--passphrase-fd` unlock the vault; these, the bundle).
struct BundleKeyOptions: ParsableArguments {
    @Flag(name: .customLong("bundle-passphrase"), help: "Seal or open the bundle with a passphrase typed at a prompt (twice when exporting).")
    var passphrase = false

    @Option(name: .customLong("bundle-passphrase-fd"), help: ArgumentHelp("Read the bundle's passphrase from this file descriptor (up to its first newline).", valueName: "fd"))
    var passphraseFd: Int32?

    @Option(name: .customLong("bundle-key-file"), help: ArgumentHelp("Seal or open the bundle with this key file (32 bytes; export creates it, mode 0600, when missing).", valueName: "path"))
    var keyFile: String?

    func validate() throws {
        guard [passphrase, passphraseFd != nil, keyFile != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("give at most one of --bundle-passphrase, --bundle-passphrase-fd N and --bundle-key-file PATH.")
        }
    }

    /// The key a new bundle is sealed with; `--bundle-passphrase` asks twice.
    func forSealing() throws -> BundleCredential {
        if let path = keyFile.map(Paths.absolute) {
            let (file, created) = try KeyFile.loadOrCreate(at: path)
            if created { Terminal.note("created bundle key file \(path) (fingerprint \(file.fingerprint)); send it apart from the bundle") }
            return .keyFile(file)
        }
        if let fd = passphraseFd { return .passphrase(try Passphrase.read(from: fd)) }
        guard passphrase else {
            throw UsageError("choose the bundle's own key: --bundle-key-file PATH (created if missing), --bundle-passphrase (typed twice) or --bundle-passphrase-fd N. The vault's key never seals a bundle.")
        }
        guard Terminal.isInteractive else { throw UsageError("--bundle-passphrase needs a terminal to type it at, or --bundle-passphrase-fd N.") }
        return .passphrase(try Terminal.newPassphrase(prompt: "Passphrase for the bundle: "))
    }

    /// The key to open `sealed` with: as given, or typed at a prompt when it is sealed with a
    /// passphrase and a person is there.
    /// - Throws: `VaultError.cannotUnlock` when nothing was given and nobody can be asked.
    func forOpening(_ sealed: SealedBundle) throws -> BundleCredential {
        if let path = keyFile.map(Paths.absolute) { return .keyFile(try KeyFile.load(from: path)) }
        if let fd = passphraseFd { return .passphrase(try Passphrase.read(from: fd)) }
        switch sealed.lock {
        case .passphrase:
            guard Terminal.isInteractive else {
                throw VaultError(.cannotUnlock, "the bundle \(sealed.source) is sealed with a passphrase: give it with --bundle-passphrase-fd N, or run on a terminal to type it. Nothing was imported.")
            }
            return .passphrase(try Terminal.passphrase(prompt: "Passphrase for the bundle \(sealed.source): "))
        case .keyFile(let fingerprint):
            throw VaultError(.cannotUnlock, "the bundle \(sealed.source) is sealed with a key file (fingerprint \(fingerprint)): give it with --bundle-key-file PATH. Nothing was imported.")
        }
    }
}
