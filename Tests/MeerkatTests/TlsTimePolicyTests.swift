import Testing
import CMeerkat
@testable import Meerkat

/// Issue 26: a TLS client with `.deferUntilSynced` makes its TCP connection but sends no
/// ClientHello (and gets no `.connect`) until an SNTP answer syncs the manager's clock;
/// none in time is a clear error. `.checkWithFloor` handshakes at once.
@Suite(.serialized) struct TlsTimePolicyTests {
    /// A listener that counts accepted connections and the bytes they sent.
    final class Counter {
        var accepted = 0
        var bytes = 0
    }

    func listen(_ manager: Manager, _ counter: Counter) throws -> Int {
        let listener = try manager.listen("tcp://127.0.0.1:0") { _, ev in
            if case .accept = ev { counter.accepted += 1 }
            if case .read(let n) = ev { counter.bytes += n }
        }
        return try #require(listener.localAddress?.port)
    }

    func client(_ manager: Manager, port: Int, _ policy: TlsTimePolicy?, _ events: Box) throws {
        let opts = TlsOpts(skipVerification: true, timePolicy: policy)
        try manager.connect("tls://127.0.0.1:\(port)", tls: opts) { _, ev in
            switch ev {
            case .connect: events.list.append("connect")
            case .error(let why): events.list.append("\(why)")
            case .close: events.list.append("close")
            default: break
            }
        }
    }

    final class Box { var list: [String] = [] }

    @Test func aDeferredClientSendsNothingThenGivesUpAtItsTimeout() throws {
        let manager = Manager()
        let counter = Counter(), events = Box()
        let port = try listen(manager, counter)
        try client(manager, port: port, .deferUntilSynced(timeoutMs: 300), events)
        let start = mk_now_ms()
        #expect(manager.pump(limitMs: 3000) { events.list.contains("close") })
        #expect(mk_now_ms() - start >= 250)
        #expect(counter.accepted == 1 && counter.bytes == 0)  // TCP made, no ClientHello
        #expect(events.list.first?.hasPrefix("TLS: the time is not known") == true, "\(events.list)")
        #expect(!events.list.contains("connect"))
        manager.close()
    }

    @Test func anSntpAnswerReleasesAWaitingClient() throws {
        let manager = Manager()
        let counter = Counter(), events = Box()
        let port = try listen(manager, counter)
        try client(manager, port: port, .deferUntilSynced(timeoutMs: 5000), events)
        let peer = UdpPeer()
        try manager.sntpConnect("udp://127.0.0.1:\(peer.port)")
        let request = try #require(SntpTests().waitRequest(peer, manager))
        manager.pump(ms: 100)
        #expect(counter.accepted == 1 && counter.bytes == 0 && events.list.isEmpty)
        peer.reply(SntpTests().answer(to: request, unixSeconds: 1_800_000_000))
        // The answer comes: `.connect`, and the ClientHello goes out.
        #expect(manager.pump(limitMs: 3000) { counter.bytes > 0 })
        #expect(events.list == ["connect"])
        manager.close()
    }

    @Test func checkWithFloorHandshakesAtOnce() throws {
        let manager = Manager()
        let counter = Counter(), events = Box()
        let port = try listen(manager, counter)
        try client(manager, port: port, nil, events)  // the manager's default
        #expect(manager.tlsTimePolicy == .checkWithFloor)
        #expect(manager.pump(limitMs: 3000) { counter.bytes > 0 })
        #expect(events.list == ["connect"])
        manager.close()
    }
}
