import Testing
import Meerkat

/// TestChannel, the helper an app's own host tests use (the starter's test does): a
/// handler fed requests and WebSocket messages with no listener and no port.
@Suite struct TestChannelTests {
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
            } else {
                try? conn.reply(404, "no such page\n")
            }
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
}
