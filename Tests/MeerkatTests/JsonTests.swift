import Testing
@testable import Meerkat

/// Issue 9: the JSON scanner and writer against tricky inputs.
@Suite struct JsonTests {
    func with<R>(_ text: String, _ body: (ByteView) -> R) -> R {
        Array(text.utf8).withUnsafeBytes { body(ByteView($0)) }
    }

    @Test func validDocuments() {
        for doc in [
            "{}", "[]", " {\"a\": [1, -2.5e3, true, false, null, {\"b\": \"c\"}]} ", "\"x\"", "0", "-0.1E+2",
            "{\"k\": \"\\u00e9\\ud83d\\ude00\\\\\\/\\b\\f\\n\\r\\t\\\"\"}", "{\"é\": \"☃\"}",
        ] {
            #expect(with(doc) { Json.isValid($0) }, "\(doc)")
        }
    }

    @Test func invalidDocuments() {
        for doc in [
            "", "{", "{\"a\"}", "{\"a\": }", "{\"a\": 1,}", "[1 2]", "01", "1.", "-", "1e", "tru", "nul",
            "{'a': 1}", "{\"a\": \"tab\there\"}", "{\"a\": \"\\x\"}", "{\"a\": \"\\u12\"}", "{} {}",
            String(repeating: "[", count: 40) + String(repeating: "]", count: 40),
        ] {
            #expect(!with(doc) { Json.isValid($0) }, "\(doc)")
        }
        // Invalid UTF-8 inside a string.
        let bad: [UInt8] = Array("{\"a\": \"".utf8) + [0xC3, 0x28] + Array("\"}".utf8)
        #expect(!bad.withUnsafeBytes { Json.isValid(ByteView($0)) })
    }

    @Test func readsTopLevelKeysOnly() {
        let doc =
            "{\"user\": {\"type\": \"inner\"}, \"type\": \"message\", \"text\": \"a \\\"quote\\\" and \\u263a\", "
            + "\"n\": -12.5e1, \"ok\": true, \"list\": [\"type\"]}"
        with(doc) { d in
            #expect(Json.string(d, "type") == "message")
            #expect(Json.string(d, "text") == "a \"quote\" and ☺")
            #expect(Json.number(d, "n") == -125)
            #expect(Json.bool(d, "ok") == true)
            #expect(Json.string(d, "missing") == nil)
            #expect(Json.string(d, "n") == nil)  // not a string
            #expect(Json.value(d, "user")?.string == "{\"type\": \"inner\"}")
        }
        with("{\"ty\\u0070e\": \"escaped key\"}") { #expect(Json.string($0, "type") == "escaped key") }
        with("{\"a\": \"\\ud800\"}") { #expect(Json.string($0, "a") == nil) }  // a lone surrogate
    }

    @Test func writerEscapesIntoAFixedBuffer() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
        defer { buffer.deallocate() }
        var w = JsonWriter(into: buffer)
        w.add("type", "message")
        w.add("text", "say \"hi\"\\\n\u{1}☃")
        w.add("count", -3)
        w.add("ok", true)
        w.add("timestamp", 1732812345.1234, fractionDigits: 3)
        let text = w.finish()?.string
        #expect(text == "{\"type\": \"message\", \"text\": \"say \\\"hi\\\"\\\\\\n\\u0001☃\", \"count\": -3, \"ok\": true, \"timestamp\": 1732812345.123}")
        #expect(text.map { t in Array(t.utf8).withUnsafeBytes { Json.isValid(ByteView($0)) } } == true)
        let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 8, alignment: 1)
        defer { small.deallocate() }
        var tiny = JsonWriter(into: small)
        tiny.add("type", "too long for eight bytes")
        #expect(tiny.finish() == nil && tiny.overflowed)
    }

    /// JSON has no NaN or infinity: a failed sensor's reading is written null, never a
    /// trap (the vectors, run on every board, hold the other edges).
    @Test func writerPutsNullForNumbersJsonCannotHold() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
        defer { buffer.deallocate() }
        var w = JsonWriter(into: buffer)
        w.add("temp", Double.nan, fractionDigits: 1)
        w.add("max", Double.infinity, fractionDigits: 1)
        w.add("huge", 1e300, fractionDigits: 2)
        w.add("ratio", 0.1)
        w.add("low", Int.min)
        let text = w.finish()?.string
        #expect(
            text == "{\"temp\": null, \"max\": null, \"huge\": null, \"ratio\": 0.1, \"low\": -9223372036854775808}"
                || text == "{\"temp\": null, \"max\": null, \"huge\": null, \"ratio\": 0.1, \"low\": -2147483648}")
        #expect(text.map { t in Array(t.utf8).withUnsafeBytes { Json.isValid(ByteView($0)) } } == true)
    }

    @Test func writerWritesArrays() {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256, alignment: 1)
        defer { buffer.deallocate() }
        var w = JsonWriter(into: buffer)
        w.addArray("temps") { a in for t in [21.25, .nan, -3.5] { a.append(t, fractionDigits: 1) } }
        w.addArray("empty") { _ in }
        w.addArray("mixed") { a in
            a.append(1)
            a.append("two")
            a.append(true)
            a.appendNull()
            a.append(0.5)
            a.appendObject { $0.add("id", 7) }
            a.appendArray { $0.append(-1) }
        }
        w.add("after", 2)
        let text = w.finish()?.string
        #expect(
            text == "{\"temps\": [21.3, null, -3.5], \"empty\": [], "
                + "\"mixed\": [1, \"two\", true, null, 0.5, {\"id\": 7}, [-1]], \"after\": 2}")
        #expect(text.map { t in Array(t.utf8).withUnsafeBytes { Json.isValid(ByteView($0)) } } == true)
    }

    @Test func broadcastReachesEveryWebSocketButOne() throws {
        var open: [Connection] = []
        let manager = Manager { conn, ev in
            if case let .httpMessage(hm) = ev { conn.wsUpgrade(hm) }
            if case .wsOpen = ev { open.append(conn) }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let clients = (0..<3).map { _ in TestClient(port: l.localAddress!.port) }
        for c in clients {
            c.send(
                "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        }
        manager.pump { open.count == 3 }
        for c in clients { _ = read(c, from: manager, until: "\r\n\r\n") }
        let result = manager.wsBroadcast("news", except: open[1])
        #expect(result.reached == 2 && result.skipped == 0)
        var got = ["", "", ""]
        manager.pump(ms: 100)
        for i in 0..<3 { got[i] = clients[i].receive() ?? "" }
        #expect(got[0].hasSuffix("news") && got[2].hasSuffix("news") && !got[1].contains("news"))
        manager.close()
    }
}
