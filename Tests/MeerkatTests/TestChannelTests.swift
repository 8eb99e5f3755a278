import Testing
import Meerkat
import MeerkatTesting

/// TestChannel, the helper an app's own host tests use (the starter's test does): a
/// handler fed requests and WebSocket messages with no listener and no port.
@Suite struct TestChannelTests {
    /// What an app keeps beside its handler (its manager, open streams), one per test
    /// rather than global, so the tests can run in parallel.
    final class App {
        var manager: Manager? = nil
        var streams: [Connection] = []
    }

    static let handler: Handler = { conn, ev in
        switch ev {
        case let .httpMessage(hm):
            if hm.header("Upgrade") != nil {
                conn.wsUpgrade(hm)
            } else if hm.uri == "/" {
                try? conn.reply(200, "hello", headers: ["Content-Type": "text/plain"])
            } else if hm.uri == "/chunked" {
                try? conn.startChunked()
                try? conn.httpChunk("one,")
                try? conn.httpChunk("two")
                try? conn.httpChunk([UInt8]())
            } else if hm.uri == "/echo" {
                try? conn.reply(201, hm.body)
            } else if hm.uri == "/big" {
                // A copied body (a String) of 10,000 bytes: fits a 16 KiB send block,
                // not an 8 KiB one (rpi3-armhf), where the library answers 500.
                try? conn.reply(200, String(repeating: "x", count: 10_000))
            } else {
                try? conn.reply(404, "no such page\n")
            }
        case let .wsMessage(wm) where wm.flags == WEBSOCKET_OP_BINARY:
            try? conn.wsSend(wm.data, WEBSOCKET_OP_BINARY)
        case let .wsMessage(wm):
            try? conn.wsSend("Echo: \(wm.text)")
        default:
            break
        }
    }

    @Test func aRequestGetsItsWholeReply() throws {
        let channel = try TestChannel(handler: Self.handler)
        let page = try #require(channel.request("GET", "/"))
        #expect(page.status == 200 && page.text == "hello" && page.header("content-type") == "text/plain")
        let posted = try #require(channel.request("POST", "/echo", body: "a body"))  // same connection (keep-alive)
        #expect(posted.status == 201 && posted.text == "a body")
        let chunked = try #require(channel.request("GET", "/chunked"))
        #expect(chunked.text == "one,two" && chunked.header("Transfer-Encoding") == "chunked")
        #expect(channel.request("GET", "/nothing")?.status == 404)
        #expect(channel.request("HEAD", "/")?.body == [])
    }

    @Test func aWebSocketMessageIsEchoed() throws {
        let channel = try TestChannel(handler: Self.handler)
        #expect(channel.upgrade("/ws")?.status == 101)
        channel.sendText("ping")
        #expect(channel.receiveText() == "Echo: ping")
        channel.sendText(String(repeating: "x", count: 300))  // a 16-bit length
        #expect(channel.receiveText() == "Echo: " + String(repeating: "x", count: 300))
    }

    @Test func badInputGetsTheLibrarysAnswerAndTheClose() throws {
        let channel = try TestChannel(handler: Self.handler)
        channel.write("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")  // two Hosts: 400, then close
        let reply = String(decoding: channel.readAll(), as: UTF8.self)
        #expect(reply.hasPrefix("HTTP/1.1 400 "))
        #expect(channel.isClosed)
        #expect(channel.request("GET", "/") == nil)
    }

    @Test func bodiesOfAnyBytesBothWays() throws {
        let channel = try TestChannel(handler: Self.handler)
        let bytes = (0..<512).map { UInt8(truncatingIfNeeded: $0 * 7) }  // every byte value, NULs included
        let posted = try #require(channel.request("POST", "/echo", headers: [("Content-Type", "application/octet-stream")], body: bytes))
        #expect(posted.status == 201 && posted.body == bytes)
        #expect(channel.upgrade("/ws")?.status == 101)
        channel.sendMessage(bytes)
        #expect(channel.receiveMessage() == TestMessage(opcode: WEBSOCKET_OP_BINARY, data: bytes))
        channel.sendText("text again")
        #expect(channel.receiveMessage()?.text == "Echo: text again")
    }

    /// Issue 22: a reply that passes with the host's 16 KiB blocks gets 500 on
    /// rpi3-armhf (8 KiB); a test with that board's limits sees it on the host.
    @Test func aBoardsLimitsShowOnTheHost() throws {
        let host = try TestChannel(handler: Self.handler)
        #expect(host.request("GET", "/big")?.status == 200)
        let armhf = try TestChannel(limits: #require(Limits(board: "rpi3-armhf")), handler: Self.handler)
        #expect(armhf.manager.limits.sendBufferSize == 8192)
        #expect(armhf.request("GET", "/big")?.status == 500)
        #expect(Limits(board: "no-such-board") == nil)
    }

    @Test(arguments: Limits.boardNames) func thePageIsServedWithEveryBoardsLimits(board: String) throws {
        let channel = try TestChannel(limits: #require(Limits(board: board)), handler: Self.handler)
        #expect(channel.request("GET", "/")?.text == "hello")
    }

    /// Several clients of one manager: a WebSocket broadcast reaches both, and one
    /// client leaving closes its connection only.
    @Test func aBroadcastReachesEveryConnection() throws {
        let app = App()
        let alice = try TestChannel { conn, ev in
            switch ev {
            case let .httpMessage(hm): conn.wsUpgrade(hm)
            case let .wsMessage(wm): app.manager?.wsBroadcast(wm.text)
            default: break
            }
        }
        app.manager = alice.manager
        var bob: TestChannel? = try alice.newConnection()
        #expect(alice.manager === bob?.manager && alice.connection != bob?.connection)
        #expect(alice.upgrade("/chat")?.status == 101)
        #expect(bob?.upgrade("/chat")?.status == 101)
        bob?.sendText("hello from bob")
        #expect(alice.receiveText() == "hello from bob")
        #expect(bob?.receiveText() == "hello from bob")
        let bobsConnection = try #require(bob?.connection)
        bob = nil  // bob leaves: the server sees his socket close, alice stays
        alice.sendText("still here")
        #expect(alice.receiveText() == "still here")
        #expect(alice.manager.stats.connections == 1)
        #expect(throws: ConnectionError.closed) { try bobsConnection.wsSend("gone") }
    }

    /// Two event streams fed by one timer, on the fake clock: each tick reaches both,
    /// once per second of fake time.
    @Test func twoEventStreamsTickWithTheFakeClock() throws {
        let app = App()
        let first = try TestChannel { conn, ev in
            if case .httpMessage = ev {
                try? conn.startChunked(200, headers: ["Content-Type": "text/event-stream"])
                app.streams.append(conn)
            }
        }
        var tick = 0
        first.manager.timerAdd(1000, repeat: true) {
            tick += 1
            for conn in app.streams { try? conn.httpSSE(event: "tick", data: String(tick)) }
        }
        let second = try first.newConnection()
        for channel in [first, second] {
            channel.write("GET /events HTTP/1.1\r\nHost: test\r\n\r\n")
            #expect(String(decoding: channel.readAll(), as: UTF8.self).hasPrefix("HTTP/1.1 200 OK\r\n"))
        }
        first.advanceClock(ms: 999)
        #expect(first.readAll().isEmpty && second.readAll().isEmpty)
        first.advanceClock(ms: 2001)  // to 3 s: ticks 1, 2 and 3
        for channel in [first, second] {
            let text = String(decoding: channel.readAll(), as: UTF8.self)
            #expect(text.contains("data: 1\n") && text.contains("data: 2\n") && text.contains("data: 3\n"))
            #expect(!text.contains("data: 4\n"))
        }
    }

    /// The fake clock drives timers (a late reply), the idle timeout and keep-alive
    /// pings; nothing moves until the test moves it.
    @Test func aLateReplyComesWhenTheClockGetsThere() throws {
        let app = App()
        let channel = try TestChannel { conn, ev in
            // Answered from a timer, half a second on.
            if case .httpMessage = ev { app.manager?.timerAdd(500) { try? conn.reply(200, "late") } }
        }
        app.manager = channel.manager
        channel.timeoutMs = 50  // real time: how long "nothing yet" waits
        channel.write("GET /later HTTP/1.1\r\nHost: test\r\n\r\n")
        #expect(channel.readReply() == nil)
        channel.advanceClock(ms: 499)
        #expect(channel.readReply() == nil)
        channel.advanceClock(ms: 1)
        #expect(channel.readReply()?.text == "late")
    }

    @Test func anIdleConnectionClosesAtTheIdleTimeout() throws {
        let channel = try TestChannel(handler: Self.handler)
        #expect(channel.request("GET", "/")?.status == 200)
        channel.advanceClock(ms: 59_999)  // Limits().idleTimeoutMs is 60 s
        #expect(!channel.isClosed)
        channel.advanceClock(ms: 1)
        #expect(channel.isClosed)
    }

    /// A WebSocket whose client answers pings (as a browser does) is kept through three
    /// idle timeouts; one that stops answering gets close 1001 within the ping interval
    /// (and its quarter of lateness) plus the idle timeout.
    @Test func keepAlivePingsOnTheFakeClock() throws {
        let channel = try TestChannel(handler: Self.handler)
        #expect(channel.upgrade("/ws")?.status == 101)
        channel.answersPings = false  // to see the ping
        channel.advanceClock(ms: 29_999)
        #expect(channel.readAll().isEmpty)
        channel.advanceClock(ms: 1)  // 30 s of quiet
        #expect(channel.receiveMessage() == TestMessage(opcode: WEBSOCKET_OP_PING, data: []))
        channel.sendMessage([], opcode: WEBSOCKET_OP_PONG)
        channel.answersPings = true  // from here on, as a browser
        channel.advanceClock(ms: 180_000)
        #expect(!channel.isClosed)
        channel.sendText("alive")
        #expect(channel.receiveText() == "Echo: alive")
        // A peer that stops answering: close 1001 once a ping has gone an idle
        // timeout unanswered, then the socket after the linger (2 s).
        channel.answersPings = false
        channel.timeoutMs = 0  // look, do not wait
        var waited = 0
        var close: TestMessage? = nil
        while close == nil && waited < 200_000 {
            channel.advanceClock(ms: 500)
            waited += 500
            while let m = channel.receiveMessage() {
                if m.opcode == WEBSOCKET_OP_CLOSE { close = m }
            }
        }
        #expect(close?.closeCode == 1001)
        #expect(waited > 60_000 && waited <= 97_500, "closed after \(waited) ms of quiet")
        channel.advanceClock(ms: 2_000)
        #expect(channel.isClosed)
    }
}
