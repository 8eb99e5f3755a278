import CMeerkat

/// A handler under test, with no listener, no port and no network (the way SwiftNIO's
/// `EmbeddedChannel` drives a handler): the handler serves one end of a Unix socket pair
/// as a connection accepted from an `http://` listener (`Manager.serve(accepted:)`), and
/// the test writes a request into the other end and reads the answer back. The loop runs
/// only inside these calls, so a test is deterministic; the code under test is the same
/// as on a board, down to the send path.
///
///     let channel = try TestChannel(handler: myHandler)
///     let reply = channel.request("GET", "/")
///     #expect(reply?.status == 200 && reply?.text == "hello")
///     #expect(channel.upgrade("/ws")?.status == 101)
///     channel.sendText("ping")
///     #expect(channel.receiveText() == "ping")
public final class TestChannel {
    public let manager: Manager
    /// The server side of the pair, as the handler sees it.
    public let connection: Connection
    private let peer: Int32
    /// What the handler sent that no call has read yet.
    private var unread: [UInt8] = []
    private var peerClosed = false
    /// How long a call waits for an answer before it gives up (nil).
    public var timeoutMs = 2000

    public init(limits: Limits = Limits(), handler: @escaping Handler) throws(ConnectError) {
        manager = Manager(limits: limits)
        var fds: (Int32, Int32) = (-1, -1)
        let rc = withUnsafeMutableBytes(of: &fds) { mk_socketpair($0.baseAddress!.assumingMemoryBound(to: Int32.self)) }
        guard rc == 0 else { throw .system(-rc) }
        peer = fds.1
        connection = try manager.serve(accepted: fds.0, handler: handler)
    }

    deinit {
        manager.close()
        _ = CMeerkat.close(peer)
    }

    /// True once the handler's side has closed (and everything it sent was read).
    public var isClosed: Bool {
        pump()
        return peerClosed && unread.isEmpty
    }

    /// Writes `bytes` as the client would (a request, a frame, anything), then runs the loop.
    public func write(_ bytes: some ByteSource) {
        bytes.withBytes { b in
            var at = 0
            while at < b.count {
                let n = mk_send(peer, b.baseAddress! + at, b.count - at)
                if n > 0 { at += n } else { manager.poll(1) }  // the pair is full: let the handler read
            }
        }
        pump()
    }

    /// Runs the loop once more and returns everything the handler has sent since the last read.
    public func readAll() -> [UInt8] {
        pump()
        defer { unread.removeAll() }
        return unread
    }

    /// Sends a request (`Host` and `Content-Length` added) and returns the whole reply,
    /// or nil when none came within `timeoutMs` or it is not valid HTTP/1.1.
    public func request(
        _ method: String = "GET", _ target: String, headers: [(String, String)] = [],
        body: String = ""
    ) -> TestReply? {
        var head = method + " " + target + " HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { head += name + ": " + value + "\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.utf8.count)\r\n" }
        write(head + "\r\n" + body)
        return readReply(requestWasHead: method == "HEAD")
    }

    /// Asks for a WebSocket upgrade of `target`; the reply's status is 101 when the
    /// handler accepted (then `sendText` and `receiveText` speak WebSocket).
    public func upgrade(_ target: String, protocols: String? = nil) -> TestReply? {
        var extra: [(String, String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ]
        if let protocols { extra.append(("Sec-WebSocket-Protocol", protocols)) }
        return request("GET", target, headers: extra)
    }

    /// Sends one masked WebSocket message (text, or binary with `binary: true`).
    public func sendText(_ text: String, binary: Bool = false) {
        var frame = [UInt8](repeating: 0, count: 14)
        let payload = Array(text.utf8)
        var n = frame.withUnsafeMutableBufferPointer {
            WsFrame.writeHeader($0.baseAddress!, fin: true, opcode: binary ? 2 : 1, length: UInt64(payload.count))
        }
        frame[1] |= 0x80
        let mask: (UInt8, UInt8, UInt8, UInt8) = (0x37, 0xFA, 0x21, 0x3D)
        frame[n] = mask.0; frame[n + 1] = mask.1; frame[n + 2] = mask.2; frame[n + 3] = mask.3
        n += 4
        frame.removeLast(frame.count - n)
        var masked = payload
        masked.withUnsafeMutableBufferPointer { if let b = $0.baseAddress { WsFrame.unmask(b, $0.count, mask) } }
        write(frame + masked)
    }

    /// The payload of the next data frame from the handler (as text), or nil when none
    /// came within `timeoutMs`. A close frame from the handler reads as nil.
    public func receiveText() -> String? {
        var result: String? = nil
        _ = waitFor { bytes in
            let parsed = bytes.withUnsafeBufferPointer { b -> WsFrame.Parsed in
                guard let p = b.baseAddress else { return .incomplete }
                return WsFrame.parseHeader(p, b.count, fromClient: false)
            }
            guard case let .header(h) = parsed, UInt64(bytes.count - h.headerLength) >= h.payloadLength else { return 0 }
            let end = h.headerLength + Int(h.payloadLength)
            if h.opcode == 1 || h.opcode == 2 { result = String(decoding: bytes[h.headerLength..<end], as: UTF8.self) }
            return end
        }
        return result
    }

    // MARK: The loop and the peer's end

    /// Polls until nothing more is ready, reading what the handler sent.
    private func pump() {
        for _ in 0..<64 {
            manager.poll(0)
            if !readPeer() { break }
        }
    }

    /// Reads what the pair holds; false when there was nothing.
    private func readPeer() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 16384)
        var got = false
        while !peerClosed {
            let n = chunk.withUnsafeMutableBytes { mk_read(peer, $0.baseAddress, $0.count) }
            if n > 0 {
                unread += chunk[0..<n]
                got = true
            } else {
                if n == 0 || -n != Int(EAGAIN) { peerClosed = true }
                break
            }
        }
        return got
    }

    /// Runs the loop until `take` finds a whole item at the front of what is unread (it
    /// returns the bytes it used, 0 for not yet, -1 for never); those are removed.
    private func waitFor(_ take: ([UInt8]) -> Int) -> Bool {
        let deadline = mk_now_ms() + Int64(timeoutMs)
        while true {
            pump()
            let used = take(unread)
            if used > 0 {
                unread.removeFirst(used)
                return true
            }
            if used < 0 || peerClosed || mk_now_ms() >= deadline { return false }
            manager.poll(5)
        }
    }

    private func readReply(requestWasHead: Bool) -> TestReply? {
        var reply: TestReply? = nil
        _ = waitFor { bytes in
            let (used, r) = TestReply.parse(bytes, requestWasHead: requestWasHead, atEnd: peerClosed)
            reply = r
            return used
        }
        return reply
    }
}

/// A reply read by `TestChannel`: status, headers (in order) and the body (de-chunked).
public struct TestReply {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that name (any case), or nil. Compared as the server compares
    /// header names (`ByteView.equalsIgnoringCase`, ASCII only): `lowercased()` would link
    /// the Unicode tables (about 640 KiB) into every firmware, since this file is part of
    /// the library (test_size.py fails when they come back).
    public func header(_ name: String) -> String? {
        var wanted = name
        return wanted.withUTF8 { w in
            headers.first { h in
                var candidate = h.name
                return candidate.withUTF8 { ByteView(UnsafeRawBufferPointer($0)).equalsIgnoringCase(UnsafeRawBufferPointer(w)) }
            }?.value
        }
    }

    /// (bytes used, the reply) once a whole reply is at the front of `bytes`; (0, nil)
    /// while it is incomplete; (-1, nil) when it is not HTTP/1.1.
    static func parse(_ bytes: [UInt8], requestWasHead: Bool, atEnd: Bool) -> (Int, TestReply?) {
        var copy = bytes
        return copy.withUnsafeMutableBytes { buf -> (Int, TestReply?) in
            let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 64)
            defer { fields.deallocate() }
            let r: ResponseHead
            switch HttpResponseParser.parseHead(UnsafeRawBufferPointer(buf), fields: fields, requestWasHead: requestWasHead) {
            case .incomplete: return (0, nil)
            case .failed: return (-1, nil)
            case let .complete(head): r = head
            }
            let start = r.head.length
            let rest = UnsafeMutableRawBufferPointer(rebasing: buf[start...])
            var bodyLength = 0, used = start
            switch r.body {
            case .none: break
            case let .length(n):
                guard UInt64(rest.count) >= n else { return (0, nil) }
                bodyLength = Int(n)
                used += bodyLength
            case .chunked:
                switch ChunkedDecoder.decode(rest, maxBody: Int(Int32.max)) {
                case .incomplete: return (0, nil)
                case .failed: return (-1, nil)
                case let .complete(length, consumed):
                    bodyLength = length
                    used += consumed
                }
            case .untilClose:
                guard atEnd else { return (0, nil) }
                bodyLength = rest.count
                used += bodyLength
            }
            let message = HttpMessage(
                base: UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                head: r.head, fields: UnsafeBufferPointer(rebasing: fields[0..<Int(r.head.headerCount)]),
                body: .empty)
            var headers: [(name: String, value: String)] = []
            for field in message.headers { headers.append((field.name.string, field.value.string)) }
            return (used, TestReply(status: r.status, headers: headers, body: Array(rest[0..<bodyLength])))
        }
    }
}
