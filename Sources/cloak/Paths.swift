

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
}
