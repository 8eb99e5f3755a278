import Testing

@testable import Meerkat

/// `sseBroadcast`: one event to every open event stream (or those on one path), over real
/// sockets, several connections at once.
@Suite(.serialized) struct SseBroadcastTests {
    /// A server whose GETs open a stream named after their path; /plain answers a plain
    /// reply, /late is left for a late reply (`late`).
    final class Server {
        final class Late { var conn: Connection? = nil }
        let manager: Manager
        let port: Int
        private let box = Late()
        var late: Connection? { box.conn }

        init() throws {
            let box = self.box
            manager = Manager { conn, ev in
                guard case let .httpMessage(hm) = ev else { return }
                if hm.uri == "/plain" {
                    try? conn.reply(200, "plain")
                } else if hm.uri == "/late" {
                    box.conn = conn
                } else {
                    try? conn.httpSSE(event: "open", data: hm.uri.string)
                }
            }
            port = try manager.listen("http://127.0.0.1:0").localAddress!.port
        }

        /// A client that asked for `path` (HEAD when `head`), its answer so far read.
        func open(_ path: String, head: Bool = false, receiveBuffer: Int32? = nil) -> TestClient {
            let c = TestClient(port: port, receiveBuffer: receiveBuffer)
            c.send("\(head ? "HEAD" : "GET") \(path) HTTP/1.1\r\nHost: h\r\n\r\n")
            let answer = path == "/late" ? nil : head ? "\r\n\r\n" : path == "/plain" ? "plain" : "data: \(path)\n\n"
            if let answer { _ = read(c, from: manager, until: answer) } else { manager.pump { late != nil } }
            return c
        }
    }

    @Test func anEventReachesEveryOpenStreamOrThoseOnOnePath() throws {
        let server = try Server()
        let m = server.manager
        let events = [server.open("/events"), server.open("/events"), server.open("/events/kitchen")]
        let plain = server.open("/plain")
        let head = server.open("/events", head: true)  // a HEAD stream sends no body: not reached
        let late = server.open("/late")
        try #require(server.late != nil)
        try server.late!.httpSSE(data: "late")  // a stream opened from outside the handler
        #expect(read(late, from: m, until: "data: late\n\n").hasSuffix("data: late\n\n\r\n"))

        var r = m.sseBroadcast(event: "news", data: "one\ntwo")
        #expect(r.reached == 4 && r.skipped == 0)
        for c in events + [late] { #expect(read(c, from: m, until: "two\n\n").hasSuffix("event: news\ndata: one\ndata: two\n\n\r\n")) }
        m.pump(ms: 50)
        #expect(plain.receive() == nil || plain.receive() == "")
        #expect((head.receive() ?? "").isEmpty)

        r = m.sseBroadcast(data: "for the kitchen", uri: "/events/kitchen")
        #expect(r.reached == 1 && r.skipped == 0)
        #expect(read(events[2], from: m, until: "kitchen\n\n").hasSuffix("data: for the kitchen\n\n\r\n"))
        r = m.sseBroadcast(data: "late one", uri: "/late")
        #expect(r.reached == 1)
        #expect(read(late, from: m, until: "late one\n\n").hasSuffix("data: late one\n\n\r\n"))
        m.pump(ms: 50)
        for c in events.prefix(2) { #expect((c.receive() ?? "").isEmpty) }
        m.close()
    }

    @Test func aStreamThatDoesNotReadIsSkippedAndKept() throws {
        let server = try Server()
        let m = server.manager
        let reader = server.open("/events")
        let stuck = server.open("/events", receiveBuffer: 2048)
        let big = String(repeating: "x", count: 4000)
        var reached = 0, skipped = 0, rounds = 0
        while skipped == 0 && rounds < 5000 {
            let r = m.sseBroadcast(data: big)
            reached += r.reached
            skipped += r.skipped
            rounds += 1
            m.poll(0)
            _ = reader.receiveBytes()
        }
        #expect(skipped > 0)
        #expect(reached == 2 * rounds - skipped)  // the reader got every one
        #expect(m.sseBroadcast(data: "after").reached >= 1)  // the stuck stream is skipped, not closed
        #expect(!stuck.closedByPeer)
        // An event larger than a send block reaches nobody.
        let huge = String(repeating: "y", count: Limits().sendBufferSize)
        let r = m.sseBroadcast(data: huge)
        #expect(r.reached == 0 && r.skipped == 2)
        m.close()
    }

    @Test func anEndedStreamIsNoLongerReached() throws {
        let server = try Server()
        let m = server.manager
        let c = server.open("/late")
        let conn = try #require(server.late)
        try conn.httpSSE(data: "only")
        try conn.httpChunk("")  // the stream ends; the connection stays for the next request
        _ = read(c, from: m, until: "0\r\n\r\n")
        #expect(m.sseBroadcast(data: "gone").reached == 0)
        #expect(m.sseBroadcast(data: "gone", except: conn).reached == 0)
        m.close()
    }
}
