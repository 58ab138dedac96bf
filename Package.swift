// swift-tools-version: 6.1
import PackageDescription

/// Every cross-module use is explicit and every existential is spelled out (as in Hummingbird).
let strictness: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "cloakroom",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Cloakroom", targets: ["Cloakroom"]),
        .executable(name: "cloak", targets: ["cloak"]),
        .executable(name: "cloak-idp", targets: ["cloak-idp"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    ],
    targets: [
        // C stays behind two walls: libsodium is imported only by Sources/Cloakroom/Vault,
        // SQLite only by Sources/Cloakroom/Store.
        .systemLibrary(
            name: "CSodium",
            pkgConfig: "libsodium",
            providers: [.apt(["libsodium-dev"])]
        ),
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        // migrations/*.sql become Swift source at build time, so the binary needs no file beside it.
        .executableTarget(name: "MigrationEmbedder", swiftSettings: strictness),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"]),

        .target(
            name: "Cloakroom",
            dependencies: [
                "CSodium", "CSQLite",
                // Used only when a token must be fetched: a cache hit starts no event loop.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictness,
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(
            name: "cloak",
            dependencies: [
                "Cloakroom",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictness
        ),

        // The emulator shares no code with the broker: sharing would hide the broker's mistakes.
        .target(name: "CloakIdP", swiftSettings: strictness),
        .executableTarget(name: "cloak-idp", dependencies: ["CloakIdP"], swiftSettings: strictness),

        // Builds large vaults for scripts/bench-vault.sh.
        .executableTarget(name: "cloak-bench-fixture", dependencies: ["Cloakroom"], path: "Benchmarks/VaultFixture", swiftSettings: strictness),

        // What both test targets need: temporary directories and a raw look inside a vault file.
        .target(name: "CloakroomTestSupport", dependencies: ["CSQLite"], path: "Tests/Support", swiftSettings: strictness),
        .testTarget(
            name: "CloakroomTests",
            dependencies: ["Cloakroom", "CloakroomTestSupport"],
            swiftSettings: strictness
        ),
        // Runs the built `cloak` binary: `swift build` first (scripts/test.sh does).
        .testTarget(
            name: "CloakTests",
            dependencies: ["CloakroomTestSupport"],
            swiftSettings: strictness
        ),
    ]
)
