// swift-tools-version:6.0
import PackageDescription

// __NAME__, a Meerkat app. On this machine: `swift build`, `swift test` (or `make test`).
// For a board: `make firmware BOARD=rpi4`, which builds Sources/__NAME__ as Embedded
// Swift through Meerkat's make (see Makefile).
let package = Package(
    name: "__NAME__",
    dependencies: [.package(path: "__MEERKAT__")],
    targets: [
        .executableTarget(name: "__NAME__", dependencies: [
            .product(name: "Meerkat", package: "__MEERKAT_ID__"), .product(name: "MeerkatApp", package: "__MEERKAT_ID__"),
        ]),
        .testTarget(name: "__NAME__Tests", dependencies: [
            "__NAME__", .product(name: "Meerkat", package: "__MEERKAT_ID__"),
            .product(name: "MeerkatTesting", package: "__MEERKAT_ID__"),
        ]),
    ],
    swiftLanguageModes: [.v5]
)
