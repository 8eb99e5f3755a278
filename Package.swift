// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Meerkat",
    products: [
        .library(name: "Meerkat", targets: ["Meerkat"]),
        .executable(name: "echo-server", targets: ["echo-server"]),
        .executable(name: "device-app", targets: ["device-app"]),
    ],
    targets: [
        .target(name: "CMeerkat"),
        .target(name: "Meerkat", dependencies: ["CMeerkat"]),
        .executableTarget(name: "echo-server", dependencies: ["Meerkat"]),
        .executableTarget(name: "device-app", dependencies: ["Meerkat"]),
        .testTarget(name: "MeerkatTests", dependencies: ["Meerkat", "CMeerkat"]),
    ],
    swiftLanguageModes: [.v5]
)
