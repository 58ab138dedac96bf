import Foundation
import PackagePlugin

/// Compiles the top-level `migrations/` folder into the target as Swift source: SQLite's into
/// `CloakroomStore` (`Migration.embedded`), `migrations/postgresql/` into `CloakroomPostgres`
/// (`Migration.embeddedPostgreSQL`).
///
/// The schema ships inside the binary: a `cloak` copied alone onto a server still knows
/// how to create and upgrade a vault, and nobody can change the schema by editing a file
/// that sits beside the executable.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let postgres = target.name == "CloakroomPostgres"
        let folder = context.package.directoryURL.appending(path: postgres ? "migrations/postgresql" : "migrations")
        let files = try FileManager.default
            .contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(files.count) migrations",
                executable: try context.tool(named: "MigrationEmbedder").url,
                arguments: [output.path] + (postgres ? ["--import", "CloakroomStore", "--property", "embeddedPostgreSQL"] : [])
                    + files.map(\.path),
                inputFiles: files,
                outputFiles: [output]
            )
        ]
    }
}
