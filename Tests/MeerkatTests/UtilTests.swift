import Testing
@testable import Meerkat

@Suite struct UtilTests {
    @Test func formDecoding() {
        let text = "a%20b+c%2Fd"
        let decoded = Array(text.utf8).withUnsafeBytes { URLEncoding.decode(ByteView($0)) }
        #expect(decoded == "a b c/d")
        let bad = Array("%zz".utf8).withUnsafeBytes { URLEncoding.decode(ByteView($0)) }
        #expect(bad == nil)
        #expect(urlEncode("a b/ü") == "a%20b%2F%C3%BC")
    }

    /// The bit-set tchar test against RFC 9110's list, for every byte.
    @Test func tokenCharactersAreExactlyRfc9110s() {
        let tchar = Set(Array("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8))
        for c in 0...255 {
            #expect(ASCII.isTokenChar(UInt8(c)) == tchar.contains(UInt8(c)), "byte \(c)")
        }
    }

    @Test func tokensInLists() {
        Array("keep-alive, Upgrade".utf8).withUnsafeBytes { raw in
            let v = ByteView(raw)
            #expect(v.containsToken("upgrade"))
            #expect(v.containsToken("keep-alive"))
            #expect(!v.containsToken("close"))
        }
    }

    @Test func endpointURLs() throws {
        let a = try #require(EndpointURL("http://0.0.0.0:8000"))
        #expect(a.scheme == .http && a.host == "0.0.0.0" && a.port == 8000)
        let b = try #require(EndpointURL("ws://[::1]:0/chat"))
        #expect(b.scheme == .ws && b.host == "::1" && b.port == 0)
        let c = try #require(EndpointURL("https://localhost"))
        #expect(c.isTLS && c.host == "127.0.0.1" && c.port == 443)
        #expect(EndpointURL("ftp://x:1") == nil)
        #expect(EndpointURL("http://x:99999") == nil)
        #expect(EndpointURL("http://x:1a") == nil)
        #expect(EndpointURL("http://[::1") == nil)
        #expect(EndpointURL("http://name.example:80")?.address() == nil)
        // Connect URLs: a name kept as written, MQTT's default port, the path for a client.
        let d = try #require(EndpointURL("mqtt://broker.example/x?y=1"))
        #expect(d.isConnectOnly && d.name == "broker.example" && d.port == 1883 && d.path == "/x?y=1")
        #expect(EndpointURL("mqtts://b")?.port == 8883)
    }

    @Test func slotQueueIsFIFOWithStamps() {
        var q = SlotQueue(capacity: 8)
        defer { q.deallocate() }
        q.append(3, now: 100)
        q.append(5, now: 110)
        q.append(1, now: 120)
        #expect(q.first == 3)
        #expect(q.expired(now: 150, timeout: 50) == 3)
        #expect(q.expired(now: 149, timeout: 50) == nil)
        q.append(3, now: 130)  // touch: moves to the end
        #expect(q.first == 5)
        q.remove(5)
        q.remove(5)  // removing twice is harmless
        #expect(q.first == 1)
        #expect(q.contains(3) && !q.contains(5))
        q.remove(1)
        q.remove(3)
        #expect(q.first == -1)
    }

    @Test func bufferPoolHandsOutEachBlockOnce() {
        var pool = BufferPool(blockSize: 64, blockCount: 3)
        defer { pool.deallocate() }
        let a = pool.acquire(for: 7), b = pool.acquire(for: 8), c = pool.acquire(for: 9)
        #expect(Set([a, b, c].compactMap { $0 }).count == 3)
        #expect(pool.acquire(for: 10) == nil)
        #expect(pool.owner(b!) == 8)
        pool.release(b!)
        #expect(pool.owner(b!) == -1)
        #expect(pool.acquire(for: 11) == b)
        #expect(pool.owner(b!) == 11)
    }

    @Test func byteWriterStopsAtCapacity() {
        let mem = UnsafeMutablePointer<UInt8>.allocate(capacity: 8)
        defer { mem.deallocate() }
        var w = ByteWriter(base: mem, capacity: 8)
        w.append("HTTP")
        w.append(decimal: 1234)
        #expect(!w.overflowed)
        #expect(String(decoding: w.written, as: UTF8.self) == "HTTP1234")
        w.append(byte: 0)
        #expect(w.overflowed)
    }
}

@Test func nonsenseLimitsStillMakeAWorkingManager() throws {
    var limits = Limits()
    limits.recvBufferSize = 0
    limits.sendBuffers = -3
    limits.maxHeaders = 0
    limits.eventsPerPoll = 1000
    let manager = Manager(limits: limits) { conn, ev in
        if case .httpMessage = ev { try? conn.reply(200, "ok") }
    }
    #expect(manager.limits.recvBufferSize == 512)
    #expect(manager.limits.sendBuffers == 1)
    #expect(manager.limits.eventsPerPoll == 64)
    let l = try manager.listen("http://127.0.0.1:0")
    let c = TestClient(port: l.localAddress!.port)
    c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
    #expect(read(c, from: manager, until: "ok").hasSuffix("\r\n\r\nok"))
    manager.close()
}
