import Glibc
import CMeerkat
import Testing
@testable import Meerkat

/// Issue 7: fixed pools under pressure. Bodies larger than a send block, flow-controlled
/// pipelining, a failed reply, and blocks reclaimed from stalled holders.
@Suite(.serialized) struct PressureTests {
    /// Polls while reading until one whole response has arrived (by Content-Length, or
    /// the last chunk); returns it.
    func readResponse(_ c: TestClient, _ m: Manager, limitMs: Int = 5000) -> [UInt8] {
        var got: [UInt8] = []
        m.pump(limitMs: limitMs) {
            if let more = c.receiveBytes() { got += more }
            guard let end = headEnd(got) else { return false }
            let head = String(decoding: got[0..<end], as: UTF8.self)
            if let r = head.range(of: "Content-Length: ") {
                let length = Int(head[r.upperBound...].prefix { $0.isNumber }) ?? 0
                return got.count >= end + length
            }
            return got.count >= 5 && String(decoding: got.suffix(5), as: UTF8.self) == "0\r\n\r\n"
        }
        return got
    }

    /// A fresh client's GET /: what it got, and how many ms it waited.
    func freshClient(_ port: Int, _ m: Manager) -> (String, Int64) {
        let fresh = TestClient(port: port)
        fresh.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let start = mk_now_ms()
        let got = read(fresh, from: m, until: "served", limitMs: 3000)
        return (got, mk_now_ms() - start)
    }

    /// A peer that pipelines `GET /big` (900-byte answers) and never reads, until the
    /// kernel's buffers are full and it holds the only send block: the hog (nil if the
    /// pool never emptied within 5 s).
    func hogTheSendBlock(_ port: Int, _ m: Manager) -> TestClient? {
        let hog = TestClient(port: port, receiveBuffer: 2048)
        var batch = ""
        for _ in 0..<100 { batch += "GET /big HTTP/1.1\r\nHost: h\r\n\r\n" }
        var queued: [UInt8] = []
        let full = m.pump(limitMs: 5000) {
            if queued.isEmpty { queued = Array(batch.utf8) }
            hog.trySend(&queued)
            return m.sendPool.freeCount == 0
        }
        return full ? hog : nil
    }

    func headEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0..<(bytes.count - 3) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i + 4
        }
        return nil
    }

    func bodyOf(_ bytes: [UInt8]) -> [UInt8] {
        headEnd(bytes).map { Array(bytes[$0...]) } ?? []
    }

    static let page: StaticString = """
        <!doctype html><title>A page larger than the send block</title>
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789
        end
        """

    @Test func bodiesLargerThanASendBlockGoOutWhole() throws {
        var limits = Limits()
        limits.sendBufferSize = 512
        limits.sendBuffers = 1
        limits.recvBufferSize = 64 * 1024
        let big = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let manager = Manager(limits: limits) { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            if hm.uri == "/array" {
                try? conn.reply(200, big)
            } else if hm.uri == "/page" {
                try? conn.reply(200, Self.page)
            } else if hm.uri == "/chunks" {
                try? conn.httpChunk(big)
                try? conn.httpChunk(Self.page)
                try? conn.httpChunk("")
            } else {
                try? conn.reply(200, hm.body)
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        let c = TestClient(port: port, receiveBuffer: 4096)

        c.send("GET /array HTTP/1.1\r\nHost: h\r\n\r\n")
        var got = readResponse(c, manager)
        #expect(bodyOf(got) == big)

        c.send("GET /page HTTP/1.1\r\nHost: h\r\n\r\n")
        let page = Array(UnsafeBufferPointer(start: Self.page.utf8Start, count: Self.page.utf8CodeUnitCount))
        got = readResponse(c, manager)
        #expect(bodyOf(got) == page)

        let echo = (0..<60_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        c.send("POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: \(echo.count)\r\n\r\n")
        var off = 0
        while off < echo.count {  // the client must read too: the reply races the upload
            let n = echo[off...].withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress, min($0.count, 8192), msgNoSignal) }
            if n > 0 { off += n }
            manager.poll(1)
        }
        got = readResponse(c, manager)
        #expect(bodyOf(got) == echo)

        c.send("GET /chunks HTTP/1.1\r\nHost: h\r\n\r\n")
        got = readResponse(c, manager)
        let text = String(decoding: got.prefix(200), as: UTF8.self)
        #expect(text.contains("Transfer-Encoding: chunked"))
        #expect(String(decoding: got.suffix(5), as: UTF8.self) == "0\r\n\r\n")
        #expect(got.count > big.count + page.count)

        #expect(manager.sendPool.freeCount == 1 && manager.recvPool.freeCount == limits.recvBuffers)
        manager.close()
    }

    @Test func pipelinedRepliesWaitForRoomInsteadOfFailing() throws {
        let limits = Limits()
        var failures = 0, flushes = 0
        let manager = Manager(limits: limits) { conn, ev in
            if case .write = ev { flushes += 1 }  // only after a reply had to wait
            guard case let .httpMessage(hm) = ev else { return }
            let n = hm.queryVar("n") ?? "?"
            do throws(ConnectionError) {
                try conn.reply(200, "<\(n)>" + String(repeating: "x", count: 12_000))  // copied
            } catch {
                failures += 1
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port, receiveBuffer: 4096)
        // Pipeline without reading until a reply has had to wait in the send block, then
        // 200 more requests behind it.
        var next = 0
        var queued: [UInt8] = []
        var waitedAt: Int? = nil
        manager.pump(limitMs: 5000) {
            if queued.isEmpty {
                for _ in 0..<50 { queued += Array("GET /?n=\(next) HTTP/1.1\r\nHost: h\r\n\r\n".utf8); next += 1 }
            }
            c.trySend(&queued)
            if waitedAt == nil && manager.sendPool.freeCount < limits.sendBuffers { waitedAt = next }
            return waitedAt.map { next >= $0 + 200 } ?? false
        }
        while !queued.isEmpty { c.trySend(&queued); manager.poll(1) }
        // Read every reply, collecting the numbers between < and > in arrival order.
        var order: [Int] = []
        var number: Int? = nil
        manager.pump(limitMs: 10_000) {
            for byte in c.receiveBytes() ?? [] {
                switch byte {
                case UInt8(ascii: "<"): number = 0
                case UInt8(ascii: ">"): order.append(number ?? -1); number = nil
                case 48...57 where number != nil: number = number! * 10 + Int(byte - 48)
                default: break
                }
            }
            return order.count >= next
        }
        print("pipelined \(next) requests without reading; \(flushes) flushes")
        #expect(flushes > 0, "no reply ever had to wait: the test did not test")
        #expect(failures == 0)
        #expect(order == Array(0..<next))
        manager.close()
    }

    @Test func aFailedReplyIsAnswered500AndClosed() throws {
        var limits = Limits()
        limits.sendBufferSize = 1024
        var errors = 0
        let manager = Manager(limits: limits) { conn, ev in
            switch ev {
            case .httpMessage:
                try? conn.reply(200, String(repeating: "y", count: 5000))  // copied: too large
            case .error: errors += 1
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /never HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "\r\n\r\n")
        #expect(got.hasPrefix("HTTP/1.1 500"))
        #expect(got.contains("Connection: close"))
        #expect(manager.pump { c.closedByPeer })
        #expect(errors == 1)
        manager.close()
    }

    @Test func aStalledRequestGivesItsReceiveBlockBack() throws {
        var limits = Limits()
        limits.recvBuffers = 2
        limits.reclaimGraceMs = 200
        var evicted = 0
        let manager = Manager(limits: limits) { conn, ev in
            switch ev {
            case .httpMessage: try? conn.reply(200, "served")
            case .error: evicted += 1
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        let stalled = [TestClient(port: port), TestClient(port: port)]
        let stalledAt = mk_now_ms()
        for s in stalled { s.send("GET / HTTP/1.1\r\nHost: a\r\n") }
        manager.pump(ms: 50)
        #expect(manager.recvPool.freeCount == 0)
        let (got, waited) = freshClient(port, manager)
        #expect(got.contains("served"))
        // Not before a holder has been quiet for its share of the grace (200 ms x 2
        // blocks / 3 claimants: 133 ms), counted from the stall, not from the fresh
        // client's arrival (which comes later on a slow build, e.g. under ASan).
        let servedAfterStall = mk_now_ms() - stalledAt
        #expect(servedAfterStall >= 133 && waited < 1000, "served \(servedAfterStall) ms after the stall")
        #expect(evicted == 1)
        #expect(stalled.filter { $0.closedByPeer }.count == 1)
        manager.close()
    }

    /// The table is full and a newcomer takes the place of a connection that has sent
    /// nothing yet. Its request may be on its way (it comes a round trip after the
    /// handshake): it is answered 503 as a newcomer is, not closed with no answer (a
    /// fresh GET under a body trickle on rpi3-armhf was). The newcomer is served.
    @Test func aSilentConnectionMakingRoomIsAnswered503() throws {
        var limits = Limits()
        limits.maxConnections = 2
        limits.rejectSlots = 1
        var errors = 0
        let manager = Manager(limits: limits) { conn, ev in
            switch ev {
            case .httpMessage: try? conn.reply(200, "served")
            case .error: errors += 1
            default: break
            }
        }
        let port = try manager.listen("http://127.0.0.1:0").localAddress!.port
        let late = TestClient(port: port)
        #expect(manager.pump { manager.counts.connections == 1 })
        let other = TestClient(port: port)
        #expect(manager.pump { manager.counts.connections == 2 })
        let (got, _) = freshClient(port, manager)
        #expect(got.contains("served"), "the newcomer has the place")
        #expect(manager.evictions == 1 && errors == 1)
        late.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")  // a round trip after its handshake
        let answer = read(late, from: manager, until: "too busy")
        #expect(answer.hasPrefix("HTTP/1.1 503 Service Unavailable\r\n"), "got \(answer)")
        #expect(manager.pump { late.closedByPeer })
        _ = other
        manager.close()
    }

    /// Holders that send a whole POST head and then a body byte every 50 ms are never
    /// quiet for their share of the grace (2,000 ms x 2 blocks / 3 claimants: 1,333 ms);
    /// below `reclaimMinRate` they give their block up then, not at the full grace. With
    /// no floor (0) only the full grace applies, and nothing overflows.
    @Test(arguments: [512, 0])
    func holdersTricklingBelowTheFloorGiveTheirBlocksBack(floor: Int) throws {
        var limits = Limits()
        limits.recvBuffers = 2
        limits.reclaimGraceMs = 2000
        limits.reclaimMinRate = floor
        let manager = Manager(limits: limits) { conn, ev in
            if case .httpMessage = ev { try? conn.reply(200, "served") }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        let holders = [TestClient(port: port), TestClient(port: port)]
        for h in holders { h.send("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\n") }
        for _ in 0..<28 {  // 1.4 s: past the shared grace, short of the full one
            manager.pump(ms: 50)
            for h in holders { h.send("b") }
        }
        #expect(manager.recvPool.freeCount == 0)
        let (got, waited) = freshClient(port, manager)
        #expect(got.contains("served"))
        if floor > 0 {
            #expect(waited < 300, "waited \(waited) ms")
        } else {
            #expect(waited >= 300, "waited \(waited) ms")
        }
        manager.close()
    }

    /// The grace shared among those who wait (`Manager.sharedGraceMs`, for the receive
    /// blocks and the TLS record-buffer pairs): the whole of it while nobody waits, the
    /// blocks-to-claimants share when many do, never under the floor (nor the floor over
    /// the grace).
    @Test func theGraceIsSharedAmongThoseWhoWait() {
        #expect(Manager.sharedGraceMs(1000, blocks: 8, waiting: 0) == 1000)
        #expect(Manager.sharedGraceMs(1000, blocks: 8, waiting: 8) == 500)
        #expect(Manager.sharedGraceMs(1000, blocks: 128, waiting: 1000) == 113)
        #expect(Manager.sharedGraceMs(1000, blocks: 8, waiting: 200) == 38)
        #expect(Manager.sharedGraceMs(1000, blocks: 8, waiting: 200, floorMs: 125) == 125)
        #expect(Manager.sharedGraceMs(1000, blocks: 8, waiting: 8, floorMs: 125) == 500)
        #expect(Manager.sharedGraceMs(100, blocks: 8, waiting: 200, floorMs: 125) == 100)
        #expect(Manager.sharedGraceMs(1000, blocks: 0, waiting: 1) == 500)
    }

    @Test func aPeerThatDoesNotReadGivesItsSendBlockBack() throws {
        var limits = Limits()
        limits.sendBufferSize = 1024
        limits.sendBuffers = 1
        limits.reclaimGraceMs = 200
        var evicted = 0
        let manager = Manager(limits: limits) { conn, ev in
            if case .error = ev { evicted += 1 }
            guard case let .httpMessage(hm) = ev else { return }
            try? conn.reply(200, hm.uri == "/big" ? String(repeating: "z", count: 900) : "served")
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        let hog = try #require(hogTheSendBlock(port, manager))
        let (got, waited) = freshClient(port, manager)
        #expect(got.contains("served"))
        #expect(waited < 1000, "waited \(waited) ms")
        #expect(manager.pump { hog.closedByPeer })
        #expect(evicted == 1)
        manager.close()
    }

    /// A fresh client whose whole request waits for a send block (the only one held by a
    /// peer that stopped reading a moment ago) holds its receive block meanwhile and
    /// receives nothing: it is waiting on us, not trickling. Another peer that wants a
    /// receive block must not have it evicted (attack21: about 1 fresh GET in 45 closed
    /// unanswered under slow readers on the host); the stalled reader goes at the grace.
    @Test func aRequestWaitingForASendBlockKeepsItsReceiveBlock() throws {
        var limits = Limits()
        limits.sendBufferSize = 1024
        limits.sendBuffers = 1
        limits.recvBuffers = 2
        limits.reclaimGraceMs = 1000
        let manager = Manager(limits: limits) { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            try? conn.reply(200, hm.uri == "/big" ? String(repeating: "z", count: 900) : "served")
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        let hog = try #require(hogTheSendBlock(port, manager))
        let fresh = TestClient(port: port)
        fresh.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        manager.pump(ms: 50)
        let other = TestClient(port: port)
        other.send("GET / HTTP/1.1\r\nHost: o\r\n")  // half a head: it wants a receive block
        let got = read(fresh, from: manager, until: "served", limitMs: 3000)
        #expect(got.contains("served"), "got \(got.prefix(80))")
        manager.close()
    }
}
