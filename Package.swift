// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Meerkat",
    products: [
        .library(name: "Meerkat", targets: ["Meerkat"]),
        .executable(name: "echo-server", targets: ["echo-server"]),
    ],
    targets: [
        .target(name: "CMeerkat"),
        .target(name: "Meerkat", dependencies: ["CMeerkat"]),
        .executableTarget(name: "echo-server", dependencies: ["Meerkat"]),
        .testTarget(name: "MeerkatTests", dependencies: ["Meerkat", "CMeerkat"]),
    ],
    swiftLanguageModes: [.v5]
)
