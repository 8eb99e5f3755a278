// swift-tools-version:6.0
import PackageDescription

// The apps, one per Sources/<app>/main.swift. This line is the one list both builds
// read: SwiftPM here, and the firmware build (the Makefile reads it, and `make build`,
// `make check-embedded` and `make firmware` stop with a message when an app folder is
// missing from it). Keep it on one line.
let apps = ["chat-server", "device-app", "echo-server", "fetch", "file-server", "mqtt-client", "upload-server", "ws-client"]

let package = Package(
    name: "Meerkat",
    // The firmware library, and beside it (as SwiftNIO keeps NIOEmbedded apart) the apps'
    // shared command line (MeerkatApp) and the host test helper (MeerkatTesting), which a
    // firmware that does not import them does not carry.
    products: [
        .library(name: "Meerkat", targets: ["Meerkat"]),
        .library(name: "MeerkatApp", targets: ["MeerkatApp"]),
        .library(name: "MeerkatTesting", targets: ["MeerkatTesting"]),
    ]
        + apps.map { .executable(name: $0, targets: [$0]) },
    targets: [
        // mbedtls_trim.c and mbedtls_alloc.c are for the firmware's static link only (the
        // files say why).
        .target(
            name: "CMeerkat", exclude: ["mbedtls_trim.c", "mbedtls_alloc.c"],
            linkerSettings: [.linkedLibrary("mbedtls"), .linkedLibrary("mbedx509"), .linkedLibrary("mbedcrypto")]),
        .target(name: "Meerkat", dependencies: ["CMeerkat"]),
        .target(name: "MeerkatApp", dependencies: ["Meerkat", "CMeerkat"]),
        .target(name: "MeerkatTesting", dependencies: ["Meerkat", "CMeerkat"]),
        // device-app's web assets (web/device), packed by scripts/pack_web.py (make keeps
        // Sources/WebUI/packed.c up to date; it is committed so SwiftPM builds it too).
        .target(name: "WebUI"),
        .testTarget(name: "MeerkatTests", dependencies: ["Meerkat", "MeerkatApp", "MeerkatTesting", "CMeerkat"]),
    ] + apps.map { .executableTarget(name: $0, dependencies: ["Meerkat", "MeerkatApp"] + ($0 == "device-app" ? ["WebUI"] : [])) },
    swiftLanguageModes: [.v5]
)
