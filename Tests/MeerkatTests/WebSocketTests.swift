import CMeerkat
import Glibc
import Testing
@testable import Meerkat
import MeerkatTesting

/// Issue 9: the WebSocket codec and the server side, without and with sockets.
@Suite(.serialized) struct WebSocketTests {
    /// A masked client frame.
    func frame(_ opcode: UInt8, _ payload: [UInt8], fin: Bool = true) -> [UInt8] {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        let n = payload.count
        if n < 126 {
            out.append(0x80 | UInt8(n))
        } else if n < 65536 {
            out += [0x80 | 126, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            out.append(0x80 | 127); for i in 0..<8 { out.append(UInt8((UInt64(n) >> UInt64(56 - 8 * i)) & 0xFF)) }
        }
        let key: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        out += key
        for (i, b) in payload.enumerated() { out.append(b ^ key[i & 3]) }
        return out
    }

    @Test func utf8SplitAtEveryOffsetGivesTheSameAnswer() {
        let samples: [[UInt8]] = [
            Array("κόσμε ☃ 😀 plain".utf8),
            Array("ok".utf8) + [0xED, 0xA0, 0x80] + Array("bad".utf8),  // a surrogate
            Array("ok".utf8) + [0xF4, 0x90, 0x80, 0x80],  // over U+10FFFF
            [0xF0, 0x9F, 0x98],  // cut short
        ]
        for bytes in samples {
            var whole = Utf8Validator()
            let wholeOK = bytes.withUnsafeBufferPointer { whole.feed($0.baseAddress!, $0.count) }
            for cut in 0...bytes.count {
                var v = Utf8Validator()
                let ok = bytes.withUnsafeBufferPointer { p in
                    v.feed(p.baseAddress!, cut) && v.feed(p.baseAddress! + cut, bytes.count - cut)
                }
                #expect(ok == wholeOK && v.isComplete == whole.isComplete, "cut at \(cut)")
            }
        }
    }

    @Test func unmaskAtAnyOffsetMatchesTheWholeFrame() {
        let mask: (UInt8, UInt8, UInt8, UInt8) = (0xA1, 0xB2, 0xC3, 0xD4)
        let plain = (0..<37).map { UInt8($0 * 7 & 0xFF) }
        let key = [mask.0, mask.1, mask.2, mask.3]
        let masked = plain.enumerated().map { $0.element ^ key[$0.offset & 3] }
        for cut in 0...plain.count {
            var bytes = masked
            bytes.withUnsafeMutableBufferPointer { p in
                WsFrame.unmask(p.baseAddress!, cut, mask)
                WsFrame.unmask(p.baseAddress! + cut, plain.count - cut, mask, offset: cut)
            }
            #expect(bytes == plain, "cut at \(cut)")
        }
    }

    @Test func closeCodeRules() {
        for code: UInt16 in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999] {
            #expect(WsFrame.isValidCloseCode(code), "\(code)")
        }
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            #expect(!WsFrame.isValidCloseCode(code), "\(code)")
        }
    }

    @Test func fragmentsWithControlFramesBetweenAreGatheredInPlace() throws {
        var messages: [(Int, [UInt8])] = []
        var controls: [Int] = []
        var opened: [String] = []
        let manager = Manager { conn, ev in
            switch ev {
            case let .httpMessage(hm): conn.wsUpgrade(hm, protocols: ["chat.v2", "chat.v1"])
            case let .wsOpen(hm): opened.append(hm.uri.string)
            case let .wsMessage(wm): messages.append((wm.opcode, wm.data.bytes))
            case let .wsControl(wm): controls.append(wm.opcode)
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send(
            "GET /room HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: chat.v0, chat.v1, chat.v2\r\n\r\n")
        let head = read(c, from: manager, until: "\r\n\r\n")
        #expect(head.hasPrefix("HTTP/1.1 101 Switching Protocols"))
        #expect(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"))
        #expect(head.contains("Sec-WebSocket-Protocol: chat.v1\r\n"))  // the client's first we speak, alone
        var wire: [UInt8] = []
        wire += frame(1, Array("κό".utf8), fin: false)
        wire += frame(9, Array("p1".utf8))  // a ping between fragments
        wire += frame(0, Array("σμ".utf8), fin: false)
        wire += frame(10, [])  // an unsolicited pong
        wire += frame(0, Array("ε".utf8))
        wire += frame(2, [1, 2, 3])
        var sent = 0
        while sent < wire.count {  // byte by byte: every split point of every frame
            _ = wire[sent...].withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, 1, msgNoSignal) }
            sent += 1
            manager.poll(0)
        }
        #expect(manager.pump { messages.count == 2 })
        #expect(opened == ["/room"])
        #expect(messages.map(\.0) == [WEBSOCKET_OP_TEXT, WEBSOCKET_OP_BINARY])
        #expect(String(decoding: messages[0].1, as: UTF8.self) == "κόσμε")
        #expect(messages[1].1 == [1, 2, 3])
        #expect(controls == [WEBSOCKET_OP_PING, WEBSOCKET_OP_PONG])
        var pong: [UInt8] = []
        manager.pump {
            pong += c.receiveBytes() ?? []; return pong.count >= 4
        }
        #expect(pong == [0x8A, 2] + Array("p1".utf8))
        manager.close()
    }

    @Test func sendsAreFramedAndAClosedConnectionThrowsClosed() throws {
        var peer: Connection? = nil
        let manager = Manager { conn, ev in
            if case let .httpMessage(hm) = ev { conn.wsUpgrade(hm) }
            if case .wsOpen = ev { peer = conn }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send(
            "GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        _ = read(c, from: manager, until: "\r\n\r\n")
        let conn = try #require(peer)
        #expect(conn.isWebSocket)
        let big = [UInt8](repeating: 0x5A, count: 70_000)  // larger than a send block: held, not copied
        try conn.wsSend(big, WEBSOCKET_OP_BINARY)
        try conn.wsSend("short", WEBSOCKET_OP_TEXT)
        var got: [UInt8] = []
        manager.pump {
            got += c.receiveBytes() ?? []; return got.count >= 70_000 + 10 + 7
        }
        #expect(Array(got.prefix(10)) == [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70])
        #expect(Array(got.suffix(7)) == [0x81, 5] + Array("short".utf8))
        conn.wsClose(code: 1001)
        #expect(throws: ConnectionError.closed) { try conn.wsSend("late") }
        manager.pump { c.closedByPeer }
        manager.close()
    }

    /// Issue 22: a quiet WebSocket is pinged at the ping interval (here half the idle
    /// timeout) and kept while it answers; one that stops answering gets close 1001 one
    /// idle timeout after the unanswered ping.
    @Test func idleWebSocketIsPingedAndClosedWith1001WhenItStopsAnswering() throws {
        var limits = Limits()
        limits.idleTimeoutMs = 800  // pings after 400 ms of quiet
        let channel = try TestChannel(limits: limits) { conn, ev in
            if case let .httpMessage(hm) = ev { conn.wsUpgrade(hm) }
        }
        // This test runs the loop on the real clock (TestChannelTests does the same on
        // the fake one), and answers pings by hand.
        channel.manager.testClockMs = nil
        channel.answersPings = false
        #expect(channel.upgrade("/ws")?.status == 101)
        // What the server sends next, and after how long (nothing within 3 s: []).
        func next() -> (bytes: [UInt8], ms: Int64) {
            let start = mk_now_ms()
            while mk_now_ms() - start < 3000 {
                channel.manager.poll(10)
                let bytes = channel.readAll()
                if !bytes.isEmpty { return (bytes, mk_now_ms() - start) }
            }
            return ([], 3000)
        }
        for _ in 0..<3 {  // three pings, each answered at once: kept
            let ping = next()
            #expect(ping.bytes == [0x89, 0x00])
            #expect(ping.ms >= 350, "a ping comes after 400 ms of quiet")
            channel.write(frame(0xA, []))
        }
        #expect(!channel.isClosed)
        // No answer: one more ping, then close 1001 an idle timeout after it.
        #expect(next().bytes == [0x89, 0x00])
        let close = next()
        #expect(close.bytes == [0x88, 0x02, 0x03, 0xE9])
        #expect(close.ms >= 750, "the close comes an idle timeout after the ping")
        #expect(channel.isClosed)
    }
}
