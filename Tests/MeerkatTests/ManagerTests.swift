import Glibc
import Foundation
import Testing
@testable import Meerkat

final class Counter { var value = 0 }

@Suite(.serialized) struct ManagerTests {
    func smallLimits() -> Limits {
        var l = Limits()
        l.maxConnections = 2
        l.rejectSlots = 1
        l.recvBuffers = 4
        l.sendBuffers = 4
        return l
    }

    @Test func staleHandleNeverReachesTheNextConnectionInItsSlot() throws {
        var opened: [Connection] = []
        let manager = Manager(limits: smallLimits()) { conn, ev in
            switch ev {
            case .accept: opened.append(conn)
            case let .httpMessage(hm):
                try? conn.reply(200, hm.body)
            default: break
            }
        }
        let listener = try manager.listen("http://127.0.0.1:0")
        let port = try #require(listener.localAddress?.port)
        #expect(port > 0)

        var first: TestClient? = TestClient(port: port)
        #expect(manager.pump { opened.count == 1 })
        let old = opened[0]
        old.userdata = Counter()
        #expect(old.userdata(as: Counter.self) != nil)
        first = nil  // the peer goes away
        #expect(manager.pump { !old.isOpen })
        _ = first

        let second = TestClient(port: port)
        #expect(manager.pump { opened.count == 2 })
        let new = opened[1]
        #expect(new.slot == old.slot, "the freed slot is reused")
        #expect(new != old)
        #expect(new.id != old.id)
        #expect(new.userdata == nil, "userdata is cleared with the slot")
        #expect(throws: ConnectionError.closed) { try old.send("to the old one") }
        #expect(throws: ConnectionError.closed) { try old.reply(200, "no") }
        old.close()  // no-op: must not close the new connection
        old.drain()
        manager.pump(ms: 50)
        #expect(new.isOpen)
        second.send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nnew")
        let got = read(second, from: manager, until: "\r\n\r\nnew")
        #expect(got.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(!got.contains("to the old one"))
        manager.close()
        manager.close()  // idempotent
        #expect(!new.isOpen)
    }

    @Test func listenerHandlerIsInheritedAndDefaultHandlerServesTheRest() throws {
        var seenByDefault = 0
        let manager = Manager(limits: smallLimits()) { conn, ev in
            if case .httpMessage = ev { seenByDefault += 1; try? conn.reply(200, "default") }
        }
        let special = try manager.listen("http://127.0.0.1:0") { conn, ev in
            if case .httpMessage = ev { try? conn.reply(200, "special") }
        }
        let plain = try manager.listen("http://127.0.0.1:0")
        let a = TestClient(port: special.localAddress!.port)
        a.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(read(a, from: manager, until: "special").hasSuffix("special"))
        let b = TestClient(port: plain.localAddress!.port)
        b.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(read(b, from: manager, until: "default").hasSuffix("default"))
        #expect(seenByDefault == 1)
        manager.close()
    }

    @Test func listenErrors() throws {
        let manager = Manager()
        #expect(throws: ListenError.badURL) { try manager.listen("nonsense") }
        #expect(throws: ListenError.badURL) { try manager.listen("http://not-an-ip:80") }
        #expect(throws: ListenError.tls(.badCertificate)) {
            try manager.listen("https://127.0.0.1:0", tls: TlsOpts(cert: Array("-----BEGIN CERTIFICATE-----\nnope\n".utf8), key: [1]))
        }
        var noTLS = Limits()
        noTLS.tlsSlots = 0
        #expect(throws: ListenError.tlsUnavailable) { try Manager(limits: noTLS).listen("https://127.0.0.1:0") }
        let l = try manager.listen("http://127.0.0.1:0")
        let port = l.localAddress!.port
        #expect(throws: ListenError.system(EADDRINUSE)) { try manager.listen("http://127.0.0.1:\(port)") }
        manager.close()
    }

    @Test func replyRefusesHeaderInjection() throws {
        var outcome: ConnectionError? = nil
        let manager = Manager { conn, ev in
            guard case .httpMessage = ev else { return }
            do throws(ConnectionError) {
                try conn.reply(200, "x", headers: ["X-Evil": "a\r\nSet-Cookie: owned=1"])
            } catch {
                outcome = error
                try? conn.reply(200, "safe", headers: ["X-Fine": "yes"])
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "safe")
        #expect(outcome == .invalidHeader)
        #expect(!got.contains("owned"))
        #expect(got.contains("X-Fine: yes\r\n"))
        manager.close()
    }

    @Test func lateReplyKeepsPipelinedAnswersInOrder() throws {
        var pending: [Connection] = []
        let manager = Manager { conn, ev in
            guard case let .httpMessage(hm) = ev else { return }
            if hm.uri == "/slow" {
                pending.append(conn)  // answered later, from a timer
            } else {
                try? conn.reply(200, "fast")
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        manager.timerAdd(100) { for c in pending { try? c.reply(200, "slow") } }
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET /slow HTTP/1.1\r\nHost: h\r\n\r\nGET /fast HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "fast")
        let slow = try #require(got.range(of: "slow"))
        let fast = try #require(got.range(of: "fast"))
        #expect(slow.lowerBound < fast.lowerBound)
        manager.close()
    }

    @Test func sendBufferFullIsBackPressureNotLoss() throws {
        var limits = Limits()
        limits.sendBufferSize = 1024
        var results: [ConnectionError?] = []
        let manager = Manager(limits: limits) { conn, ev in
            guard case .httpMessage = ev else { return }
            do throws(ConnectionError) {
                try conn.reply(200, String(repeating: "A", count: 4096))  // copied: must fit
                results.append(nil)
            } catch {
                results.append(error)
                try? conn.reply(413, "too big for the send buffer")
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        let got = read(c, from: manager, until: "buffer")
        #expect(results == [.sendBufferFull])
        #expect(got.hasPrefix("HTTP/1.1 413"))
        manager.close()
    }

    @Test func streamedBodyArrivesInPieces() throws {
        var limits = Limits()
        limits.recvBufferSize = 1024
        var received = 0
        var pieces = 0
        let manager = Manager(limits: limits) { conn, ev in
            switch ev {
            case let .httpHeaders(hm) where hm.uri == "/upload":
                conn.streamRequestBody()
            case let .httpBody(piece):
                received += piece.count
                pieces += 1
            case let .httpMessage(hm):
                try? conn.reply(200, "got \(received) in \(hm.body.count == 0 ? "pieces" : "one")")
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        let body = String(repeating: "z", count: 10_000)
        c.send("POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n")
        for i in stride(from: 0, to: body.count, by: 2500) {
            c.send(String(body.dropFirst(i).prefix(2500)))
            manager.pump(ms: 20)
        }
        let got = read(c, from: manager, until: "pieces")
        #expect(got.hasSuffix("got 10000 in pieces"))
        #expect(pieces >= 10)
        // Without streaming, the same body is too large: 413.
        let d = TestClient(port: l.localAddress!.port)
        d.send("POST /other HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n")
        #expect(read(d, from: manager, until: "Too Large").hasPrefix("HTTP/1.1 413"))
        manager.close()
    }
}

@Suite(.serialized) struct TimerTests {
    @Test func oneShotRepeatCancelAndRunNow() {
        let manager = Manager()
        var once = 0, every = 0, now = 0, cancelled = 0
        manager.timerAdd(30) { once += 1 }
        let repeating = manager.timerAdd(20, repeat: true) { every += 1 }
        manager.timerAdd(1000, runNow: true) { now += 1 }
        let doomed = manager.timerAdd(40) { cancelled += 1 }
        doomed.cancel()
        manager.pump(ms: 200)
        #expect(once == 1)
        #expect(now == 1)
        #expect(cancelled == 0)
        #expect(every >= 3)
        repeating.cancel()
        let after = every
        manager.pump(ms: 100)
        #expect(every == after)
        #expect(repeating.isDone)
        manager.close()
    }

    @Test func droppedTimerHandleStillFiresAndCallbacksMayAddTimers() {
        let manager = Manager()
        var log: [String] = []
        do {
            _ = manager.timerAdd(10) {
                log.append("outer")
                manager.timerAdd(10) { log.append("inner") }
            }
        }
        manager.pump(limitMs: 1000) { log.count == 2 }
        #expect(log == ["outer", "inner"])
        manager.close()
    }

    @Test func timerCancelsItselfFromItsCallback() {
        let manager = Manager()
        var count = 0
        var t: Meerkat.Timer? = nil
        t = manager.timerAdd(5, repeat: true) {
            count += 1
            if count == 3 { t?.cancel() }
        }
        manager.pump(ms: 150)
        #expect(count == 3)
        manager.close()
    }

    /// Issue 23: 10,000 timers (more than `Limits.timers` reserves), a fifth cancelled,
    /// fire once each, in order of due time, ties in the order they were added.
    @Test func tenThousandTimersFireInDueOrder() {
        let manager = Manager()
        var rng = SystemRandomNumberGenerator()
        var fired: [(due: Int64, index: Int)] = []
        var handles: [Meerkat.Timer] = []
        for i in 0..<10_000 {
            handles.append(manager.timerAdd(Int.random(in: 0...300, using: &rng)) { fired.append((handles[i].dueMs, i)) })
        }
        for i in stride(from: 0, to: 10_000, by: 5) { handles[i].cancel() }
        manager.pump(limitMs: 5000) { fired.count == 8_000 }
        manager.pump(ms: 50)
        #expect(fired.count == 8_000)
        #expect(!fired.contains { $0.index % 5 == 0 })
        #expect(Set(fired.map(\.index)).count == 8_000)
        var inversions = 0
        for k in 1..<fired.count {
            let (a, b) = (fired[k - 1], fired[k])
            if b.due < a.due || (b.due == a.due && b.index < a.index) { inversions += 1 }
        }
        #expect(inversions == 0)
        #expect(handles.allSatisfy { $0.isDone })
        manager.close()
    }

    @Test func nextTimerBoundsThePollTimeout() {
        let manager = Manager()
        var fired = false
        manager.timerAdd(50) { fired = true }
        let start = DispatchTime.now().uptimeNanoseconds
        manager.poll(5000)
        if !fired { manager.poll(5000) }
        let elapsedMs = (DispatchTime.now().uptimeNanoseconds - start) / 1_000_000
        #expect(fired)
        #expect(elapsedMs < 2000, "poll(5000) should return when the 50 ms timer is due")
        manager.close()
    }
}

@Suite struct WakeupTests {
    @Test func wakeupFromAnotherThreadReachesTheConnection() throws {
        var received: [String] = []
        var target: Connection? = nil
        let manager = Manager { conn, ev in
            switch ev {
            case .accept: target = conn
            case let .wakeup(data): received.append(data.string); try? conn.send(data)
            default: break
            }
        }
        let l = try manager.listen("tcp://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        #expect(manager.pump { target != nil })
        let id = target!.id
        let thread = Thread {
            for i in 0..<5 { _ = manager.wakeup(id, "msg \(i);") }
            _ = manager.wakeup(id &+ 1, "to nobody")
        }
        thread.start()
        let got = read(c, from: manager, until: "msg 4;")
        #expect(got == "msg 0;msg 1;msg 2;msg 3;msg 4;")
        #expect(received.count == 5)
        manager.close()
    }

    @Test func fullWakeupQueueRefuses() {
        var limits = Limits()
        limits.wakeupQueueBytes = 64
        let manager = Manager(limits: limits)
        #expect(manager.wakeup(1, "0123456789"))
        #expect(manager.wakeup(1, "0123456789"))
        #expect(!manager.wakeup(1, String(repeating: "x", count: 64)))
        manager.close()
    }
}

@Suite(.serialized) struct LifecycleTests {
    @Test func stopFromATimerEndsRun() {
        let manager = Manager()
        var ticks = 0
        manager.timerAdd(10, repeat: true) {
            ticks += 1
            if ticks == 3 { manager.stop() }
        }
        manager.run()
        #expect(ticks == 3)
        manager.close()
    }

    @Test func closingTheManagerFromAHandlerIsSafe() throws {
        var closes = 0
        var holder: Manager? = nil
        let manager = Manager { conn, ev in
            switch ev {
            case .httpMessage:
                try? conn.reply(200, "bye")
                holder?.close()  // everything closes, mid-dispatch
            case .close:
                closes += 1
            default: break
            }
        }
        holder = manager
        let l = try manager.listen("http://127.0.0.1:0")
        let a = TestClient(port: l.localAddress!.port)
        let b = TestClient(port: l.localAddress!.port)
        manager.pump(ms: 50)
        a.send("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /again HTTP/1.1\r\nHost: h\r\n\r\n")
        manager.pump(ms: 100)
        #expect(closes == 3, "two connections and the listener got .close")
        #expect(!l.isOpen)
        #expect(a.receive()?.hasSuffix("bye") == true)
        manager.poll(10)  // a closed manager polls as a no-op
        _ = b
        holder = nil
    }

    @Test func closeDuringAcceptNeverDeliversARequest() throws {
        var requests = 0
        let manager = Manager { conn, ev in
            switch ev {
            case .accept: conn.close()
            case .httpMessage: requests += 1
            default: break
            }
        }
        let l = try manager.listen("http://127.0.0.1:0")
        let c = TestClient(port: l.localAddress!.port)
        c.send("GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        manager.pump(ms: 100)
        #expect(requests == 0)
        #expect((c.receive() ?? "").isEmpty, "closed without an answer")
        manager.close()
    }
}
