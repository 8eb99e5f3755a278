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

    /// Issue 22: nested paths and array indexing, as Mongoose's `mg_json_get` documents
    /// them (its example's offsets and lengths).
    @Test func pathsReachNestedValues() {
        with("{ \"a\": 1, \"b\": [2, 3] }") { d in
            #expect(Json.find(d, path: "$").map { [$0.offset, $0.raw.count] } == [0, 23])
            #expect(Json.find(d, path: "$.a").map { [$0.offset, $0.raw.count] } == [7, 1])
            #expect(Json.find(d, path: "$.b").map { [$0.offset, $0.raw.count] } == [15, 6])
            #expect(Json.find(d, path: "$.b[1]").map { [$0.offset, $0.raw.count] } == [19, 1])
            #expect(Json.find(d, path: "$.b")?.kind == .array && Json.count(d, path: "$.b") == 2)
        }
        let doc =
            "{\"device\": {\"name\": \"kitchen \\u263a\", \"on\": true, \"id\": 9007199254740993},"
            + " \"sensors\": [{\"t\": 21.5}, {\"t\": -3e2, \"tags\": [\"a\", null, [7]]}], \"n\\u0061me\": \"escaped\"}"
        with(doc) { d in
            #expect(Json.string(d, path: "$.device.name") == "kitchen ☺")
            #expect(Json.bool(d, path: "$.device.on") == true)
            #expect(Json.integer(d, path: "$.device.id") == 9_007_199_254_740_993)  // past a Double's 2^53
            #expect(Json.number(d, path: "$.sensors[0].t") == 21.5)
            #expect(Json.number(d, path: "$.sensors[1].t") == -300)
            #expect(Json.integer(d, path: "$.sensors[1].t") == nil)  // an exponent is not digits
            #expect(Json.find(d, path: "$.sensors[1].tags[1]")?.kind == .null)
            #expect(Json.integer(d, path: "$.sensors[1].tags[2][0]") == 7)
            #expect(Json.string(d, path: "$.name") == "escaped")  // matched unescaped
            #expect(Json.count(d, path: "$.sensors") == 2 && Json.count(d, path: "$") == 3)
            #expect(Json.count(d, path: "$.device.on") == nil)
            #expect(Json.value(d, path: "$.sensors[0]")?.string == "{\"t\": 21.5}")
            // Absent, or of another kind: nil.
            for missing in ["$.sensors[2]", "$.device.missing", "$.device.name.x", "$.sensors.t", "$.device[0]", "$.n"] {
                #expect(Json.find(d, path: missing) == nil, "\(missing)")
            }
            #expect(Json.string(d, path: "$.device.on") == nil && Json.bool(d, path: "$.device.name") == nil)
        }
    }

    @Test func malformedPathsAndDocumentsAreNil() {
        with("{\"a\": [1, {\"b\": 2}]}") { d in
            for path in [
                "", "a", ".a", "$a", "$.", "$..a", "$.a.", "$[", "$.a[", "$.a[]", "$.a[-1]", "$.a[1", "$.a[1]]", "$.a[x]",
                "$.a[ 1]", "$.a[1].b ", " $.a", "$.a[18446744073709551616]", "$.a[99999999999999999999999]",
            ] {
                #expect(Json.find(d, path: path) == nil, "\(path)")
            }
            #expect(Json.integer(d, path: "$.a[1].b") == 2)
            #expect(Json.integer(d, path: "$.a[4294967297]") == nil)  // 2^32 + 1: no wrap to [1] on 32 bits
        }
        for doc in ["", "{", "{\"a\": [1, 2}", "{\"a\": 1} x", "{\"a\": 01}", String(repeating: "[", count: 40) + String(repeating: "]", count: 40)] {
            #expect(with(doc) { Json.find($0, path: "$") } == nil, "\(doc)")
            #expect(with(doc) { Json.find($0, path: "$.a") } == nil, "\(doc)")
        }
    }

    @Test func integersAreExactTo64Bits() {
        let cases: [(String, Int64?)] = [
            ("0", 0), ("-0", 0), ("2147483648", 2_147_483_648), ("-2147483649", -2_147_483_649), ("4294967296", 4_294_967_296),
            ("9223372036854775807", Int64.max), ("-9223372036854775808", Int64.min), ("9223372036854775808", nil),
            ("-9223372036854775809", nil), ("18446744073709551616", nil), ("1.0", nil), ("1e3", nil), ("\"5\"", nil),
        ]
        for (text, expected) in cases {
            #expect(with("{\"v\": " + text + "}") { Json.integer($0, "v") } == expected, "\(text)")
            #expect(with("[" + text + "]") { Json.integer($0, path: "$[0]") } == expected, "\(text)")
        }
    }

    /// Mutated documents and paths: never a trap, and what is found is a whole value
    /// inside the document, the one `value(_:_:)` finds for a top-level key.
    @Test func mutatedInputsNeverTrap() {
        var state: UInt64 = 22
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: (state >> 33) % UInt64(n))
        }
        let docs = ["{\"a\": [1, {\"b\": \"x\\\"y\"}], \"c\": {\"d\": [[true], null]}}", "[0, [1, [2, [3]]]]", "{\"k\\u0041\": -1.5e-3}"]
        let paths = ["$.a[1].b", "$.c.d[0][0]", "$[1][1][1][0]", "$.kA", "$.a", "$"]
        let alphabet = Array("{}[]\",:.$0123456789-+eE \\abcdkntruefalsl".utf8)
        for _ in 0..<20_000 {
            var doc = Array(docs[next(docs.count)].utf8)
            var path = Array(paths[next(paths.count)].utf8)
            for _ in 0..<(1 + next(3)) {
                var target = next(2) == 0 ? doc : path
                let at = target.isEmpty ? 0 : next(target.count)
                switch next(3) {
                case 0 where !target.isEmpty: target[at] = alphabet[next(alphabet.count)]
                case 1: target.insert(alphabet[next(alphabet.count)], at: at)
                default: if !target.isEmpty { target.remove(at: at) }
                }
                if target.count == doc.count || next(2) == 0 { doc = target } else { path = target }
            }
            doc.withUnsafeBytes { raw in
                let d = ByteView(raw)
                guard let t = Json.find(d, path: path) else { return }
                #expect(t.offset >= 0 && t.offset + t.raw.count <= d.count && Json.isValid(t.raw))
                _ = (Json.string(d, path: path), Json.number(d, path: path), Json.integer(d, path: path), Json.count(d, path: path))
            }
        }
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
