import Testing
@testable import Meerkat

/// Runs the head parser over `text` with a fresh header table.
func parse(_ text: String, maxURILength: Int = 4096, maxHeaders: Int = 32) -> (HeadResult, [HeaderField]) {
    var fields = [HeaderField](repeating: HeaderField(), count: maxHeaders)
    let bytes = Array(text.utf8)
    let result = bytes.withUnsafeBytes { raw in
        fields.withUnsafeMutableBufferPointer { HttpParser.parseHead(raw, fields: $0, maxURILength: maxURILength) }
    }
    return (result, fields)
}

func head(_ text: String) -> RequestHead? {
    if case let .complete(h) = parse(text).0 { return h }
    return nil
}

func status(_ text: String) -> Int? {
    if case let .failed(code) = parse(text).0 { return code }
    return nil
}

/// The request views for `text`, as a handler would see them.
func withMessage<R>(_ text: String, _ body: (HttpMessage) -> R) -> R {
    var fields = [HeaderField](repeating: HeaderField(), count: 32)
    let bytes = Array(text.utf8)
    return bytes.withUnsafeBytes { raw in
        fields.withUnsafeMutableBufferPointer { f in
            guard case let .complete(h) = HttpParser.parseHead(raw, fields: f, maxURILength: 4096) else {
                fatalError("not a complete head: \(text)")
            }
            let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let msg = HttpMessage(
                base: base, head: h, fields: UnsafeBufferPointer(f),
                body: ByteView(base: base + h.length, count: bytes.count - h.length))
            return body(msg)
        }
    }
}

@Suite struct ParserTests {
    @Test func simpleGet() throws {
        let h = try #require(head("GET /index.html?a=1&b=x%20y HTTP/1.1\r\nHost: board\r\n\r\n"))
        #expect(h.body == .none)
        #expect(h.keepAlive)
        #expect(!h.isHead)
        withMessage("GET /index.html?a=1&b=x%20y HTTP/1.1\r\nHost: board\r\n\r\n") { m in
            #expect(m.method == "GET")
            #expect(m.uri == "/index.html")
            #expect(m.query == "a=1&b=x%20y")
            #expect(m.proto == "HTTP/1.1")
            #expect(m.header("host") == "board")
            #expect(m.header("HOST")?.string == "board")
            #expect(m.header("missing") == nil)
            #expect(m.queryVar("b") == "x y")
            #expect(m.queryVar("a") == "1")
            #expect(m.queryVar("c") == nil)
        }
    }

    @Test func headersKeepOrderAndTrimValues() {
        let text = "POST /u HTTP/1.1\r\nHost: h\r\nX-A:  one \t\r\nx-b:two\r\nContent-Type: text/plain; charset=\"utf-8\"\r\nContent-Length: 3\r\n\r\nabc"
        withMessage(text) { m in
            let all = m.headers.map { ($0.name.string, $0.value.string) }
            #expect(all.map(\.0) == ["Host", "X-A", "x-b", "Content-Type", "Content-Length"])
            #expect(m.header("x-a") == "one")
            #expect(m.header("X-B") == "two")
            #expect(m.headerVar("Content-Type", "charset") == "utf-8")
            #expect(m.body == "abc")
            #expect(m.text == "abc")
        }
        #expect(head(text)?.body == .length(3))
    }

    @Test func connectionSemantics() {
        #expect(head("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Upgrade\r\n\r\n")?.keepAlive == true)
        #expect(head("GET / HTTP/1.0\r\n\r\n")?.keepAlive == false)
        #expect(head("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")?.keepAlive == true)
        #expect(head("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")?.isHead == true)
        #expect(head("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")?.expectContinue == true)
        #expect(head("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n")?.body == .chunked)
    }

    @Test func leadingEmptyLinesAreSkipped() {
        #expect(head("\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n") != nil)
    }

    @Test func pipelinedHeadsParseOneAfterAnother() throws {
        let one = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
        let two = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhi"
        let three = "GET /c HTTP/1.1\r\nHost: h\r\n\r\n"
        var rest = Array((one + two + three).utf8)[...]  // bytes: "\r\n" is one Character
        var paths: [String] = []
        while !rest.isEmpty {
            let text = String(decoding: rest, as: UTF8.self)
            let h = try #require(head(text))
            paths.append(withMessage(text) { $0.uri.string })
            var used = h.length
            if case let .length(n) = h.body { used += Int(n) }
            rest = rest.dropFirst(used)
        }
        #expect(paths == ["/a", "/b", "/c"])
    }

    /// Every proper prefix of a valid head is "incomplete" — never an error, never a
    /// false "complete" — and the whole gives the same head however it was split.
    @Test(arguments: [
        "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
        "POST /upload?x=1 HTTP/1.1\r\nHost: board.local\r\nContent-Length: 10\r\nX-Long: \(String(repeating: "v", count: 100))\r\n\r\n",
        "\r\nGET / HTTP/1.0\r\n\r\n",
    ])
    func everySplitPointIsIncompleteUntilTheEnd(text: String) throws {
        let whole = try #require(head(text))
        let bytes = Array(text.utf8)
        for cut in 0..<bytes.count {
            let prefix = String(decoding: bytes[0..<cut], as: UTF8.self)
            #expect(parse(prefix).0 == .incomplete, "prefix of \(cut) bytes")
        }
        #expect(head(text) == whole)
    }

    @Test(arguments: [
        ("bare CR", "GET / HTTP/1.1\rHost: h\r\n\r\n", 400),
        ("bare LF ends request line", "GET / HTTP/1.1\nHost: h\r\n\r\n", 400),
        ("bare LF ends header", "GET / HTTP/1.1\r\nHost: h\n\r\n", 400),
        ("CR inside header value", "GET / HTTP/1.1\r\nHost: h\rx\r\n\r\n", 400),
        ("space before colon", "GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400),
        ("obs-fold", "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n", 400),
        ("empty header name", "GET / HTTP/1.1\r\n: v\r\nHost: h\r\n\r\n", 400),
        ("control byte in value", "GET / HTTP/1.1\r\nHost: h\u{1}\r\n\r\n", 400),
        ("two spaces", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("no target", "GET HTTP/1.1\r\nHost: h\r\n\r\n", 400),
        ("lower-case version", "GET / http/1.1\r\nHost: h\r\n\r\n", 400),
        ("HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505),
        ("Content-Length sign", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +5\r\n\r\n", 400),
        ("Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\n\r\n", 400),
        ("Content-Length over 64 bits", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n", 413),
        ("conflicting Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
        ("CL and TE", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("TE twice", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        ("unknown TE", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
        ("no Host", "GET / HTTP/1.1\r\n\r\n", 400),
        ("two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("non-token method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400),
    ])
    func badInput(name: String, text: String, expected: Int) {
        #expect(status(text) == expected, "\(name)")
    }

    @Test func duplicateEqualContentLengthIsAccepted() {
        #expect(head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n")?.body == .length(5))
    }

    @Test func uriTooLongIs414EvenBeforeTheLineEnds() {
        let long = "GET /" + String(repeating: "a", count: 300)
        #expect(parse(long, maxURILength: 256).0 == .failed(414))
        #expect(parse(long + " HTTP/1.1\r\nHost: h\r\n\r\n", maxURILength: 256).0 == .failed(414))
        #expect(parse(long + " HTTP/1.1\r\nHost: h\r\n\r\n", maxURILength: 400).0 != .failed(414))
    }

    @Test func methodOver32BytesIs400WholeOrCut() {
        let method = String(repeating: "V", count: 33)
        #expect(parse(method).0 == .failed(400))
        #expect(parse(method + " / HTTP/1.1\r\nHost: h\r\n\r\n").0 == .failed(400))
        #expect(head(String(repeating: "V", count: 32) + " / HTTP/1.1\r\nHost: h\r\n\r\n") != nil)
    }

    @Test func tooManyHeadersIs431() {
        var text = "GET / HTTP/1.1\r\nHost: h\r\n"
        for i in 0..<8 { text += "X-\(i): v\r\n" }
        #expect(parse(text + "\r\n", maxHeaders: 8).0 == .failed(431))
        #expect(parse(text + "\r\n", maxHeaders: 9).0 != .failed(431))
    }

    @Test func garbageFailsWithoutWaitingForMore() {
        #expect(status("\u{16}\u{3}\u{1}\u{2}\u{0}") == 400)
    }
}
