// swift-tools-version: 6.1
import PackageDescription

// agent-load: the HTTP/1.1-over-a-Unix-socket client of scripts/bench-agent.sh. A package of its
// own (not a product of cloakroom's) so that the benchmark's client shares no code, and no build,
// with the agent it measures; it is equally the client of the nginx baseline.
let package = Package(
    name: "AgentLoad",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "agent-load", targets: ["agent-load"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "agent-load",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: [
                .enableUpcomingFeature("ExistentialAny"),
                .enableUpcomingFeature("MemberImportVisibility"),
                .enableUpcomingFeature("InternalImportsByDefault"),
            ]
        ),
    ]
)
