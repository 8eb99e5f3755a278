import Testing
@testable import Meerkat

/// The manager's framing over real sockets: a pipelined pair (chunked POST, then
/// Content-Length POST) arrives in two writes, split at every byte boundary. Each split
/// must give the same two answers, in order, whatever the read, compaction and
/// re-parse paths did with the halves.
@Test func everySplitOfAPipelinedPairGivesTheSameAnswers() throws {
    var limits = Limits()
    limits.maxConnections = 4
    limits.recvBuffers = 2
    limits.sendBuffers = 2
    let manager = Manager(limits: limits) { conn, ev in
        guard case let .httpMessage(hm) = ev else { return }
        try? conn.reply(200, "[\(hm.uri.string) \(hm.text)]")
    }
    let listener = try manager.listen("http://127.0.0.1:0")
    let port = try #require(listener.localAddress?.port)
    let wire = Array(
        ("POST /one HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "3;x=y\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
            + "POST /two HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nfghij").utf8)
    for cut in 1..<wire.count {
        let client = TestClient(port: port)
        client.send(String(decoding: wire[0..<cut], as: UTF8.self))
        manager.poll(0)
        manager.poll(0)
        client.send(String(decoding: wire[cut...], as: UTF8.self))
        let got = read(client, from: manager, until: "[/two fghij]", limitMs: 2000)
        let first = got.range(of: "[/one abcde]")
        let second = got.range(of: "[/two fghij]")
        #expect(first != nil && second != nil && first!.lowerBound < second!.lowerBound, "split at \(cut): \(got)")
    }
    manager.close()
}
