import Testing
@testable import Meerkat

/// `ServeOptions`' pure parts: which header rules a resolved path gets (the longest
/// prefix wins a name), type overrides, and when a missing path falls back to the app.
@Suite struct ServeOptionsTests {
    static func on<T>(_ path: String, _ body: (ByteView) -> T) -> T {
        var p = path
        return p.withUTF8 { body(ByteView(UnsafeRawBufferPointer($0))) }
    }

    static var options: ServeOptions {
        var o = ServeOptions()
        o.header("Content-Security-Policy", "default-src 'self'")  // rule 0
        o.header("Cache-Control", "no-cache")  // 1
        o.header("cache-control", "max-age=60", under: "/assets/")  // 2
        o.header("X-Admin", "1", under: "/admin/")  // 3
        o.type("text/x-board", forExtension: ".data")
        o.singlePageApp(assets: ["js", "css"])
        return o
    }

    @Test func rulesByPrefixTheLongestWinningAName() {
        let o = ServeOptionsTests.options
        #expect(ServeOptionsTests.on("index.html") { o.headerMask($0) } == 0b0011)
        #expect(ServeOptionsTests.on("assets/app.js") { o.headerMask($0) } == 0b0101)
        #expect(ServeOptionsTests.on("admin") { o.headerMask($0) } == 0b1011)  // "/admin/" covers "/admin"
        #expect(ServeOptionsTests.on("administrator") { o.headerMask($0) } == 0b0011)
    }

    @Test func headersWithLineBreaksOrBadNamesAreRefused() {
        var o = ServeOptions()
        let refused = [
            o.header("X-A", "1\r\nSet-Cookie: x=1"), o.header("X A", "1"), o.header("", "1"),
            o.type("text/html\r\nX: 1", forExtension: "html"),
        ]
        #expect(refused == [false, false, false, false])
        #expect(o.rules.isEmpty && o.types.isEmpty)
        var added = 0
        for i in 0..<ServeOptions.maxHeaders where o.header("X-\(i)", "v") { added += 1 }
        let past = o.header("X-Last", "v")
        #expect(added == ServeOptions.maxHeaders && !past)
    }

    @Test func typeOverridesByExtensionInAnyCase() {
        let o = ServeOptionsTests.options
        #expect(ServeOptionsTests.on("a/b.DATA") { o.typeOverride($0) } == 0)
        #expect(ServeOptionsTests.on("a/b.json") { o.typeOverride($0) } == nil)
        #expect(ServeOptionsTests.on("a.data/b") { o.typeOverride($0) } == nil)
    }

    @Test func theAppAnswersForRoutesNotForTheApiOrAssets() {
        let o = ServeOptionsTests.options
        for path in ["settings", "settings/wifi", "users/john.doe", "", ".profile"] {
            #expect(ServeOptionsTests.on(path) { o.fallsBackToIndex($0) }, "\(path)")
        }
        for path in ["api/status", "api", "app.js", "css/site.CSS"] {
            #expect(!ServeOptionsTests.on(path) { o.fallsBackToIndex($0) }, "\(path)")
        }
        var any = ServeOptions()
        any.singlePageApp()  // every extension an asset's
        #expect(!ServeOptionsTests.on("users/john.doe") { any.fallsBackToIndex($0) })
        #expect(!ServeOptionsTests.on("settings") { ServeOptions().fallsBackToIndex($0) })
    }
}
