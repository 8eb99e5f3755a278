import CMeerkat
@_spi(Testing) import Meerkat

/// A handler under test, with no listener, no port and no network (the way SwiftNIO's
/// `EmbeddedChannel` drives a handler): the handler serves one end of a Unix socket pair
/// as a connection accepted from an `http://` listener (`Manager.serve(accepted:)`), and
/// the test writes a request into the other end and reads the answer back. The loop runs
/// only inside these calls, and its clock moves only when the test moves it
/// (`advanceClock`), so a test is deterministic; the code under test is the same as on
/// a board, down to the send path.
///
///     let channel = try TestChannel(handler: myHandler)
///     let reply = channel.request("GET", "/")
///     #expect(reply?.status == 200 && reply?.text == "hello")
///     #expect(channel.upgrade("/ws")?.status == 101)
///     channel.sendText("ping")
///     #expect(channel.receiveText() == "ping")
///
/// More clients of the same manager and handler: `newConnection()` (a broadcast, a
/// chat room, two event streams). A board's sizes: `TestChannel(limits: Limits(board:
/// "rpi3-armhf")!, …)`, so a reply too large for its 8 KiB blocks fails on the host too.
public final class TestChannel {
    private let loop: TestLoop
    private let peer: TestPeer
    /// The server side of the pair, as the handler sees it.
    public let connection: Connection
    /// How long (real time) a call waits for an answer before it gives up (nil).
    public var timeoutMs = 2000

    /// The manager serving this channel (and any made by `newConnection()`).
    public var manager: Manager { loop.manager }

    /// Whether a ping from the handler is answered with a pong as soon as it arrives,
    /// and passed over, as a browser does (default). Off, pings stay to be read with
    /// `receiveMessage()`, and the client is a peer that does not answer them (unless
    /// the test sends the pong: `sendMessage(payload, opcode: WEBSOCKET_OP_PONG)`).
    public var answersPings: Bool {
        get { peer.answersPings }
        set { peer.answersPings = newValue }
    }

    /// A new manager (from `limits`: `Limits()` by default, `Limits(board:)` for a
    /// board's) serving `handler`, and one client connected to it.
    public convenience init(limits: Limits = Limits(), handler: @escaping Handler) throws(ConnectError) {
        try self.init(loop: TestLoop(limits: limits, handler: handler))
    }

    private init(loop: TestLoop) throws(ConnectError) {
        self.loop = loop
        (connection, peer) = try loop.connect()
    }

    deinit {
        loop.remove(peer)  // the handler sees this client leave; the last channel closes the manager
    }

    /// Another client of the same manager and handler, on a connection of its own: two
    /// browsers on one chat room, a broadcast seen by several WebSockets.
    public func newConnection() throws(ConnectError) -> TestChannel {
        try TestChannel(loop: loop)
    }

    /// True once the handler's side has closed (and everything it sent was read).
    public var isClosed: Bool {
        loop.pump()
        return peer.closed && peer.unread.isEmpty
    }

    // MARK: Time

    /// Moves the manager's clock on by `ms` milliseconds. Timers, request and idle
    /// timeouts, WebSocket keep-alive pings and SSE heartbeats come due as they would in
    /// that much time, in order (a 1 s repeating timer fires three times in 3,000 ms);
    /// every client reads what it is sent meanwhile and answers pings (`answersPings`).
    /// Without this the clock stands still.
    public func advanceClock(ms: Int) {
        loop.advance(ms)
    }

    // MARK: Bytes

    /// Writes `bytes` as the client would (a request, a frame, anything), then runs the
    /// loop. Stops early if the handler's side has closed.
    public func write(_ bytes: some ByteSource) {
        bytes.withBytes { b in
            var at = 0
            let deadline = mk_now_ms() + Int64(timeoutMs)
            while !peer.writeNow(b, from: &at) && !peer.closed && mk_now_ms() < deadline {
                manager.poll(1)  // the pair is full: let the handler read
                loop.pump()
            }
        }
        loop.pump()
    }

    /// Runs the loop once more and returns everything the handler has sent since the last read.
    public func readAll() -> [UInt8] {
        loop.pump()
        defer { peer.consumeAll() }
        return peer.unread
    }

    // MARK: HTTP

    /// Sends a request (`Host` and `Content-Length` added) and returns the whole reply,
    /// or nil when none came within `timeoutMs` or it is not valid HTTP/1.1.
    public func request(
        _ method: String = "GET", _ target: String, headers: [(String, String)] = [],
        body: String = ""
    ) -> TestReply? {
        request(method, target, headers: headers, body: Array(body.utf8))
    }

    /// The same with a body of any bytes (an image, a firmware block, a form).
    public func request(_ method: String = "GET", _ target: String, headers: [(String, String)] = [], body: [UInt8]) -> TestReply? {
        var head = method + " " + target + " HTTP/1.1\r\nHost: test\r\n"
        for (name, value) in headers { head += name + ": " + value + "\r\n" }
        if !body.isEmpty || method == "POST" || method == "PUT" { head += "Content-Length: \(body.count)\r\n" }
        write(Array((head + "\r\n").utf8) + body)
        return readReply(forHead: method == "HEAD")
    }

    /// The next reply from the handler, for a request sent with `write`, or one it
    /// answers late (from a timer: `advanceClock` first); nil when none came within
    /// `timeoutMs`. `forHead`: the request was HEAD (the reply has no body).
    public func readReply(forHead: Bool = false) -> TestReply? {
        var reply: TestReply? = nil
        _ = waitFor { bytes in
            let (used, r) = TestReply.parse(bytes, requestWasHead: forHead, atEnd: peer.closed)
            reply = r
            return used
        }
        return reply
    }

    // MARK: WebSocket

    /// Asks for a WebSocket upgrade of `target`; the reply's status is 101 when the
    /// handler accepted (then `sendText` and `receiveText` speak WebSocket).
    public func upgrade(_ target: String, protocols: String? = nil) -> TestReply? {
        var extra: [(String, String)] = [
            ("Upgrade", "websocket"), ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
        ]
        if let protocols { extra.append(("Sec-WebSocket-Protocol", protocols)) }
        let reply = request("GET", target, headers: extra)
        if reply?.status == 101 { peer.speaksWebSocket = true }
        return reply
    }

    /// Sends one masked WebSocket message (text, or binary with `binary: true`).
    public func sendText(_ text: String, binary: Bool = false) {
        sendMessage(Array(text.utf8), opcode: binary ? WEBSOCKET_OP_BINARY : WEBSOCKET_OP_TEXT)
    }

    /// Sends one masked WebSocket frame of any bytes: a binary message by default, or
    /// another opcode (`WEBSOCKET_OP_PING`, `WEBSOCKET_OP_CLOSE`, …).
    public func sendMessage(_ payload: [UInt8], opcode: Int = WEBSOCKET_OP_BINARY) {
        write(TestFrame.masked(opcode: UInt8(truncatingIfNeeded: opcode), payload: payload))
    }

    /// The next data message from the handler as text (pings and pongs passed over), or
    /// nil when none came within `timeoutMs`. A close frame from the handler reads as nil.
    public func receiveText() -> String? {
        guard let m = nextMessage(passingPings: true), !m.isControl else { return nil }
        return m.text
    }

    /// The next message from the handler, whatever its kind: text or binary (fragments
    /// joined), or a ping, pong or close frame; nil when none came within `timeoutMs`.
    public func receiveMessage() -> TestMessage? {
        nextMessage(passingPings: false)
    }

    private func nextMessage(passingPings: Bool) -> TestMessage? {
        var result: TestMessage? = nil
        _ = waitFor { bytes in
            var at = 0
            var opcode: UInt8? = nil
            var data: [UInt8] = []
            while let frame = TestFrame.parse(bytes, at: at) {
                at = frame.end
                if frame.opcode >= 8 {
                    // A control frame: the message, unless a data message is under way
                    // (it is passed over, as a ping or pong is when asked to).
                    let passed = passingPings && frame.opcode != UInt8(WEBSOCKET_OP_CLOSE)
                    if opcode == nil && !passed {
                        result = TestMessage(opcode: Int(frame.opcode), data: Array(frame.payload(bytes)))
                        return at
                    }
                    continue
                }
                if opcode == nil { opcode = frame.opcode }
                data += frame.payload(bytes)
                if frame.fin {
                    result = TestMessage(opcode: Int(opcode ?? 0), data: data)
                    return at
                }
            }
            return 0
        }
        return result
    }

    // MARK: Waiting

    /// Runs the loop until `take` finds a whole item at the front of what is unread (it
    /// returns the bytes it used, 0 for not yet, -1 for never); those are removed.
    private func waitFor(_ take: ([UInt8]) -> Int) -> Bool {
        let deadline = mk_now_ms() + Int64(timeoutMs)
        while true {
            loop.pump()
            let used = take(peer.unread)
            if used > 0 {
                peer.consume(used)
                return true
            }
            if used < 0 || peer.closed || mk_now_ms() >= deadline { return false }
            manager.poll(5)
        }
    }
}

/// A WebSocket message read by `TestChannel.receiveMessage`: its opcode
/// (`WEBSOCKET_OP_TEXT`, `_BINARY`, `_PING`, `_PONG`, `_CLOSE`) and payload.
public struct TestMessage: Equatable {
    public let opcode: Int
    public let data: [UInt8]

    public init(opcode: Int, data: [UInt8]) {
        self.opcode = opcode
        self.data = data
    }

    public var text: String { String(decoding: data, as: UTF8.self) }
    public var isControl: Bool { opcode >= 8 }
    /// A close frame's status code (1000, 1001, …), or nil.
    public var closeCode: Int? {
        guard opcode == WEBSOCKET_OP_CLOSE, data.count >= 2 else { return nil }
        return Int(data[0]) << 8 | Int(data[1])
    }
}
