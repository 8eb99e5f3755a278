import Testing
@testable import Meerkat
import MeerkatTesting

/// The cross-origin and DNS-rebinding rules: the pure comparisons (scheme, default
/// ports, IPv6 brackets, case), then `manager.originPolicy` through the real parser.
@Suite struct OriginTests {
    static func same(_ origin: String, _ host: String, tls: Bool = false) -> Bool {
        var o = origin, h = host
        return o.withUTF8 { ob in
            h.withUTF8 { hb in
                OriginCheck.sameOrigin(ByteView(UnsafeRawBufferPointer(ob)), host: ByteView(UnsafeRawBufferPointer(hb)), tls: tls)
            }
        }
    }

    static func hostOK(_ host: String, _ names: [String] = []) -> Bool {
        var h = host
        return h.withUTF8 { OriginCheck.hostAllowed(ByteView(UnsafeRawBufferPointer($0)), names: names) }
    }

    static func listed(_ origin: String, _ list: [String]) -> Bool {
        var o = origin
        return o.withUTF8 { OriginCheck.listed(ByteView(UnsafeRawBufferPointer($0)), in: list) }
    }

    @Test func sameOriginComparesSchemeHostAndPort() {
        #expect(Self.same("http://device:8000", "device:8000"))
        #expect(Self.same("http://DEVICE:8000", "device:8000"))  // hosts compare in any case
        #expect(Self.same("HTTP://device", "device:80"))  // default port 80
        #expect(Self.same("http://device:80", "device"))
        #expect(Self.same("https://device", "device:443", tls: true))
        #expect(Self.same("https://device:443", "device", tls: true))
        #expect(Self.same("http://[::1]:8000", "[::1]:8000"))
        #expect(Self.same("http://[::1]", "[::1]"))
        #expect(Self.same("http://127.0.0.1:8000", "127.0.0.1:8000"))
    }

    @Test func anotherOriginIsNotTheSame() {
        #expect(!Self.same("http://evil.example:8000", "device:8000"))
        #expect(!Self.same("http://device:8001", "device:8000"))  // another port
        #expect(!Self.same("https://device:8000", "device:8000"))  // another scheme
        #expect(!Self.same("http://device:8000", "device:8000", tls: true))
        #expect(!Self.same("http://device", "device:443", tls: true))
        #expect(!Self.same("http://[::1]:8000", "[::2]:8000"))
        #expect(!Self.same("http://device.evil.example", "device"))
        #expect(!Self.same("null", "device"))  // sandboxed frames, file: pages
        #expect(!Self.same("ftp://device", "device"))
        #expect(!Self.same("http://device/", "device"))  // an origin has no path
        #expect(!Self.same("http://user@device", "device"))
        #expect(!Self.same("http://device:99999", "device:99999"))  // no such port
        #expect(!Self.same("http://device:", "device"))
        #expect(!Self.same("http://", ""))
        #expect(!Self.same("http://[::1", "[::1"))
    }

    @Test func allowListMatchesWholeOrigins() {
        #expect(Self.listed("http://localhost:9000", ["http://localhost:9000"]))
        #expect(Self.listed("http://LOCALHOST:9000", ["https://a.example", "http://localhost:9000"]))
        #expect(Self.listed("https://a.example", ["https://a.example:443"]))
        #expect(!Self.listed("http://a.example", ["https://a.example"]))
        #expect(!Self.listed("http://localhost:9001", ["http://localhost:9000"]))
        #expect(!Self.listed("http://x", []))
        #expect(Self.listed("http://anything:1", ["*"]))
        #expect(!Self.listed("null", ["*"]))
    }

    @Test func hostAllowListTakesIPLiteralsLocalhostAndNames() {
        #expect(Self.hostOK("127.0.0.1:8000"))
        #expect(Self.hostOK("192.168.1.20"))
        #expect(Self.hostOK("[::1]:8000"))
        #expect(Self.hostOK("[fe80::1%25eth0]") == false)  // zone ids are not accepted
        #expect(Self.hostOK("localhost:8000"))
        #expect(Self.hostOK("LocalHost."))
        #expect(Self.hostOK("Device.LAN:8000", ["device.lan"]))
        #expect(!Self.hostOK("evil.example:8000", ["device.lan"]))
        #expect(!Self.hostOK("1.2.3.4.evil.example"))  // looks like an address, is a name
        #expect(!Self.hostOK("256.1.1.1"))
        #expect(!Self.hostOK("1.2.3"))
        #expect(!Self.hostOK("localhost.evil.example"))
        #expect(!Self.hostOK(""))
    }

    /// Answers every request with 200 and counts the writes that reached it.
    final class Counter { var writes = 0 }

    static func channel(_ counter: Counter, _ configure: (inout OriginPolicy) -> Void = { _ in }) throws -> TestChannel {
        let ch = try TestChannel { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            if hm.uri == "/ws" {
                conn.wsUpgrade(hm, anyOrigin: hm.queryVar("any") != nil)
                return
            }
            if hm.method != "GET" { counter.writes += 1 }
            try? conn.reply(200, "ok")
        }
        configure(&ch.manager.originPolicy)
        return ch
    }

    @Test func crossOriginWritesAreRefusedBeforeTheHandler() throws {
        let counter = Counter()
        for (method, header) in [
            ("POST", ("Origin", "http://evil.example")), ("PUT", ("Origin", "null")),
            ("DELETE", ("Sec-Fetch-Site", "cross-site")), ("PATCH", ("Sec-Fetch-Site", "same-site")),
        ] {
            let reply = try Self.channel(counter).request(method, "/x", headers: [header], body: "a=1")
            #expect(reply?.status == 403)
            #expect(reply?.text == "Cross-origin request refused\n")
        }
        #expect(counter.writes == 0)
    }

    @Test func sameOriginAndNonBrowserWritesGoThrough() throws {
        let counter = Counter()
        for header in [[("Origin", "http://test")], [("Sec-Fetch-Site", "same-origin")], [("Sec-Fetch-Site", "none")], []] {
            #expect(try Self.channel(counter).request("POST", "/x", headers: header, body: "a=1")?.status == 200)
        }
        // A cross-origin GET is not a write: the check leaves it to CORS in the browser.
        #expect(try Self.channel(counter).request("GET", "/x", headers: [("Origin", "http://evil.example")])?.status == 200)
        #expect(counter.writes == 4)
    }

    @Test func optingOutIsExplicit() throws {
        let counter = Counter()
        let evil = [("Origin", "http://evil.example")]
        #expect(try Self.channel(counter) { $0 = .allowCrossOrigin }.request("POST", "/x", headers: evil)?.status == 200)
        #expect(try Self.channel(counter) { $0.allowedOrigins = ["http://evil.example"] }.request("POST", "/x", headers: evil)?.status == 200)
        #expect(try Self.channel(counter) { $0.crossOriginPaths = ["/hook"] }.request("POST", "/hook/1", headers: evil)?.status == 200)
        #expect(try Self.channel(counter) { $0.crossOriginPaths = ["/hook"] }.request("POST", "/x", headers: evil)?.status == 403)
        #expect(counter.writes == 3)
    }

    @Test func csrfTokenIsRequiredWhenAsked() throws {
        let counter = Counter()
        let ch = try Self.channel(counter) { $0.requireCSRFToken = true }
        let token = try #require(ch.manager.csrfToken)
        #expect(token.utf8.count == 32)
        #expect(ch.request("POST", "/x", headers: [("X-CSRF-Token", token)])?.status == 200)
        let wrong = try Self.channel(counter) { $0.requireCSRFToken = true }
        #expect(wrong.request("POST", "/x", headers: [("X-CSRF-Token", "0123")])?.status == 403)
        let none = try Self.channel(counter) { $0.requireCSRFToken = true }
        #expect(none.request("POST", "/x")?.text == "Missing or wrong X-CSRF-Token\n")
        // A same-origin browser request needs no token: its Origin says enough.
        let browser = try Self.channel(counter) { $0.requireCSRFToken = true }
        #expect(browser.request("POST", "/x", headers: [("Origin", "http://test")])?.status == 200)
        #expect(counter.writes == 2)
    }

    @Test func hostAllowListRefusesRebindingNames() throws {
        let counter = Counter()
        let on: (inout OriginPolicy) -> Void = { $0.hosts = ["test"] }
        #expect(try Self.channel(counter, on).request("GET", "/x")?.status == 200)  // Host: test
        let rebound = try Self.channel(counter) { $0.hosts = ["device"] }.request("GET", "/x")
        #expect(rebound?.status == 421)
        #expect(rebound?.text.hasPrefix("Unknown Host") == true)
        #expect(try Self.channel(counter) { $0.hosts = [] }.request("GET", "http://127.0.0.1:8000/x")?.status == 200)
        #expect(try Self.channel(counter) { $0.hosts = [] }.request("GET", "http://localhost/x")?.status == 200)
    }

    static func upgrade(_ ch: TestChannel, _ target: String, origin: String?) -> Int? {
        var headers: [(String, String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ]
        if let origin { headers.append(("Origin", origin)) }
        return ch.request("GET", target, headers: headers)?.status
    }

    @Test func webSocketUpgradeChecksOrigin() throws {
        let c = Counter()
        #expect(Self.upgrade(try Self.channel(c), "/ws", origin: "http://evil.example") == 403)
        #expect(Self.upgrade(try Self.channel(c), "/ws", origin: "http://test") == 101)
        #expect(Self.upgrade(try Self.channel(c), "/ws", origin: nil) == 101)  // not a browser
        #expect(Self.upgrade(try Self.channel(c), "/ws?any=1", origin: "http://evil.example") == 101)
        #expect(Self.upgrade(try Self.channel(c) { $0.allowedOrigins = ["http://evil.example"] }, "/ws", origin: "http://evil.example") == 101)
        #expect(Self.upgrade(try Self.channel(c) { $0 = .allowCrossOrigin }, "/ws", origin: "http://evil.example") == 101)
    }
}
