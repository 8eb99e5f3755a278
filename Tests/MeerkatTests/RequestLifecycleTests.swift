import Glibc
import Testing
@testable import Meerkat

/// Issue 8: streamed chunked bodies with 100-continue, one reply per request, an early
/// answer in `.httpHeaders`.
@Suite(.serialized) struct RequestLifecycleTests {
    @Test func chunkedBodyStreamsInPiecesAfter100Continue() throws {
        var limits = Limits()
        limits.recvBufferSize = 1024
        var received: [UInt8] = [], all: [UInt8] = []
        var pieces = 0
        let manager = Manager(limits: limits) { conn, ev in
            switch ev {
            case .httpHeaders: conn.streamRequestBody()
            case let .httpBody(piece):
                received += piece.bytes
                pieces += 1
            case .httpMessage:
                try? conn.reply(200, "got \(received.count)")
                if received.count > 0 { all = received }
                received = []
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n")
        #expect(read(c, from: manager, until: "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
        var expected: [UInt8] = []
        for i in 0..<40 {  // 40 chunks of 300 bytes: 12,000 bytes through a 1 KiB block
            let chunk = [UInt8](repeating: UInt8(65 + i % 26), count: 300)
            expected += chunk
            c.send("12c;n=\(i)\r\n" + String(decoding: chunk, as: UTF8.self) + "\r\n")
            manager.pump(ms: 2)
        }
        c.send("0\r\nX-Trailer: t\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "got 0")  // the pipelined GET after it
        #expect(got.contains("got 12000"))
        #expect(all == expected)
        #expect(pieces >= 40)
        manager.close()
    }

    @Test func aSecondReplyThrowsAndOnlyOneGoesOut() throws {
        var second: ConnectionError? = nil
        let manager = Manager { conn, ev in
            guard case .httpMessage = ev else { return }
            try? conn.reply(200, "first")
            do throws(ConnectionError) { try conn.reply(200, "second") } catch { second = error }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        var got = read(c, from: manager, until: "firstHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst")
        manager.pump(ms: 50)
        got += c.receive() ?? ""
        #expect(second == .invalidState)
        #expect(got.components(separatedBy: "HTTP/1.1").count - 1 == 2)  // one answer per request
        #expect(!got.contains("second"))
        manager.close()
    }

    @Test func anEarlyAnswerEndsTheRequestWithExactlyOneResponse() throws {
        var messages = 0
        let manager = Manager { conn, ev in
            switch ev {
            case let .httpHeaders(hm) where hm.uri == "/forbidden":
                try? conn.reply(403, "no")
                try? conn.reply(413, "again")  // throws .invalidState
            case .httpMessage:
                messages += 1
                try? conn.reply(200, "ok")
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        // The body is all here: dropped, and the connection goes on.
        let c = TestClient(port: port)
        c.send("POST /forbidden HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "ok")
        #expect(got.hasPrefix("HTTP/1.1 403"))
        #expect(got.components(separatedBy: "HTTP/1.1").count - 1 == 2)
        #expect(messages == 1)
        // The body is still to come: one 403 with Connection: close, then the close.
        let d = TestClient(port: port)
        d.send("POST /forbidden HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\nabc")
        let early = read(d, from: manager, until: "no")
        #expect(early.hasPrefix("HTTP/1.1 403"))
        #expect(early.contains("Connection: close"))
        #expect(manager.pump { d.closedByPeer })
        #expect(early.components(separatedBy: "HTTP/1.1").count - 1 == 1)
        #expect(messages == 1)
        manager.close()
    }
}
