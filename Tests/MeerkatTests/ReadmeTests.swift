import Foundation
import Testing

/// README's API example is Sources/device-app/main.swift, word for word; that app is
/// built by SwiftPM and as firmware, and the integration suite runs it. So the example
/// in the README always compiles (in both modes) and works.
@Test func readmeExampleIsTheDeviceApp() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
    let app = try String(contentsOf: root.appendingPathComponent("Sources/device-app/main.swift"), encoding: .utf8)
    let marker = try #require(readme.range(of: "<!-- example: Sources/device-app/main.swift -->\n```swift\n"))
    let end = try #require(readme.range(of: "```", range: marker.upperBound..<readme.endIndex))
    #expect(String(readme[marker.upperBound..<end.lowerBound]) == app)
}
