import Foundation
import Testing
@testable import Meerkat

@Suite(.serialized) struct ChunkedReplyTests {
    func server() throws -> (Manager, Int) {
        let manager = Manager { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            if hm.uri == "/chunks" {
                try? conn.httpChunk("hello")
                try? conn.httpChunk(", chunked ")
                try? conn.httpChunk("world")
                try? conn.httpChunk("")
            } else if hm.uri == "/events" {
                try? conn.httpSSE(event: "tick", data: "1")
                try? conn.httpSSE(data: "two\nlines")
                try? conn.httpChunk("")
            } else {
                try? conn.reply(200, "plain")
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        return (manager, l.localAddress!.port)
    }

    @Test func chunkedReplyHasNoContentLengthAndIsFramed() throws {
        let (manager, port) = try server()
        let c = TestClient(port: port)
        c.send("GET /chunks HTTP/1.1\r\nHost: h\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "plain")
        let head = try #require(got.components(separatedBy: "\r\n\r\n").first)
        #expect(head.contains("Transfer-Encoding: chunked"))
        #expect(!head.contains("Content-Length"))
        #expect(got.contains("\r\n\r\n00000005\r\nhello\r\n0000000a\r\n, chunked \r\n00000005\r\nworld\r\n0\r\n\r\nHTTP/1.1 200 OK"))
        manager.close()
    }

    @Test func curlDecodesTheChunksAndEvents() throws {
        let (manager, port) = try server()
        for (path, expected) in [
            ("/chunks", "hello, chunked world"),
            ("/events", "event: tick\ndata: 1\n\ndata: two\ndata: lines\n\n"),
        ] {
            let curl = Process()
            curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            curl.arguments = ["-sS", "--max-time", "10", "-D", "-", "http://127.0.0.1:\(port)\(path)"]
            let out = Pipe()
            curl.standardOutput = out
            try curl.run()
            manager.pump(limitMs: 10_000) { !curl.isRunning }
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(curl.terminationStatus == 0)
            let parts = text.components(separatedBy: "\r\n\r\n")
            #expect(parts.dropFirst().joined(separator: "\r\n\r\n") == expected)
            if path == "/events" { #expect(parts[0].contains("Content-Type: text/event-stream")) }
        }
        manager.close()
    }
}
