import Cloakroom


#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

enum Paths {
    /// Paths are stored and reported absolute, so that a message names the file unambiguously.
    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let cwd = FileManager.default.currentDirectoryPath
        return (cwd == "/" ? "" : cwd) + "/" + (path.hasPrefix("./") ? String(path.dropFirst(2)) : path)
    }

    /// A vault's location: a file's path made absolute, a server's URL (`postgresql://…`) as given.
    static func vault(_ location: String) -> String {
        Vault.isServerLocation(location) ? location : absolute(location)
    }
}
