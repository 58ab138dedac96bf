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
        // `TokenBroker.execute(_:as:)` for services that already speak AsyncHTTPClient; kept out of
        // `Cloakroom` so that the core library's API names no NIO type.
        .library(name: "CloakroomAsyncHTTPClient", targets: ["CloakroomAsyncHTTPClient"]),
        .executable(name: "cloak", targets: ["cloak"]),
        .executable(name: "cloak-idp", targets: ["cloak-idp"]),
    ],
    // Team vaults on PostgreSQL are opt-in: `swift build --traits PostgreSQL` (or `traits:
    // ["PostgreSQL"]` on a dependency's `.package` line). Without the trait, nothing of postgres-nio
    // is built or linked, and the SQLite path's start-up stays as it was (README, Performance).
    traits: [
        .trait(name: "PostgreSQL", description: "Vaults in PostgreSQL (postgres-nio): --vault postgresql://…"),
        .default(enabledTraits: []),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // CloakroomHTTP (AsyncHTTPClient, NIO, NIOSSL) and cloak-idp (the rest) share NIO.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // swift-crypto: cloak-idp signs tokens with it, the library verifies them (`cloak inspect`).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        // cloak-idp only: the broker library depends on none of these.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // The agent's metrics: swift-metrics' API, in Prometheus' text format.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The PostgreSQL backend (trait PostgreSQL only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C stays behind two walls: libsodium is imported only by Sources/CloakroomCrypto, SQLite only
        // by Sources/CloakroomStore (targets of their own, so the compiler holds the line).
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

        // The only importer of libsodium: keys, sealing, MACs, secure memory.
        .target(name: "CloakroomCrypto", dependencies: ["CSodium"], swiftSettings: strictness),

        // The only importer of SQLite: the connection, migrations and every query the vault makes.
        .target(
            name: "CloakroomStore",
            dependencies: ["CloakroomCrypto", "CSQLite"],
            swiftSettings: strictness,
            plugins: ["EmbedMigrations"]
        ),

        // The only importer of AsyncHTTPClient and NIO in the library: one transport (one HTTPClient,
        // made on the first request, so a cache hit starts no event loop) and one retry policy, for
        // token requests, discovery, JWKS and the Keycloak admin API. It knows no realm or client.
        .target(
            name: "CloakroomHTTP",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strictness
        ),

        // The only importer of postgres-nio: the same stores on a PostgreSQL connection, and the
        // locks and change notices a server gives. Built only with the PostgreSQL trait.
        .target(
            name: "CloakroomPostgres",
            dependencies: [
                "CloakroomCrypto", "CloakroomStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictness,
            plugins: ["EmbedMigrations"]
        ),

        .target(
            name: "Cloakroom",
            dependencies: [
                "CloakroomCrypto", "CloakroomStore", "CloakroomHTTP",
                .target(name: "CloakroomPostgres", condition: .when(traits: ["PostgreSQL"])),
                // RSA and EC public keys for verifying tokens against a realm's JWKS (`cloak inspect`);
                // already built for cloak-idp. libsodium still does all of the vault's sealing.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictness
        ),
        .target(
            name: "CloakroomAsyncHTTPClient",
            dependencies: ["Cloakroom", .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: strictness
        ),
        // `cloak agent`: the broker's long-running form, an HTTP/1.1 server on a Unix socket, and
        // the blocking client `cloak token` uses to ask it. NIO's server half, no HTTP framework.
        .target(
            name: "CloakroomAgent",
            dependencies: [
                "Cloakroom",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "cloak",
            dependencies: [
                "Cloakroom", "CloakroomAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // Debug builds carry the crash-safety tests' hook (TestHooks.swift); release builds do not.
            swiftSettings: strictness + [.define("CLOAK_TEST_HOOKS", .when(configuration: .debug))]
        ),

        // The emulator shares no code with the broker: sharing would hide the broker's mistakes.
        .target(
            name: "CloakIdP",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictness
        ),
        .executableTarget(
            name: "cloak-idp",
            dependencies: [
                "CloakIdP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictness
        ),

        // libFuzzer harnesses (Fuzz/README.md; the harnesses themselves are in Sources/Cloakroom/Fuzzing).
        // Built as usual it only replays inputs; scripts/fuzz.sh builds it with -sanitize=fuzzer,address -DFUZZING.
        .executableTarget(name: "cloak-fuzz", dependencies: ["Cloakroom"], path: "Fuzz/Entry", swiftSettings: strictness),

        // Builds large vaults for scripts/bench-vault.sh.
        .executableTarget(name: "cloak-bench-fixture", dependencies: ["Cloakroom"], path: "Benchmarks/VaultFixture", swiftSettings: strictness),

        // What both test targets need: temporary directories and a raw look inside a vault file.
        .target(name: "CloakroomTestSupport", dependencies: ["CSQLite"], path: "Tests/Support", swiftSettings: strictness),
        .testTarget(
            name: "CloakroomTests",
            dependencies: [
                "Cloakroom", "CloakroomHTTP", "CloakroomAsyncHTTPClient", "CloakroomAgent", "CloakroomTestSupport",
                .target(name: "CloakroomPostgres", condition: .when(traits: ["PostgreSQL"])),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                // To sign test vectors for every algorithm the JWKS check accepts.
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictness
        ),
        .testTarget(
            name: "CloakIdPTests",
            dependencies: [
                "CloakIdP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strictness
        ),
        // Runs the built `cloak` and `cloak-idp` binaries: `swift build` first (scripts/test.sh does).
        .testTarget(
            name: "CloakTests",
            dependencies: ["CloakroomTestSupport"],
            swiftSettings: strictness
        ),
    ]
)
