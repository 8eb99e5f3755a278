import CMeerkat
import Glibc
import Testing
@testable import Meerkat

/// Issue 23: the SNTP client, a service that joined the loop through Core/Services.swift
/// alone, against a UDP peer playing the server.
@Suite(.serialized) struct SntpTests {
    /// A server's answer to `request`: version 4, mode 4, stratum `stratum`, the request's
    /// transmit stamp as originate (unless `originate` is given), and `unixSeconds` as
    /// receive and transmit stamps.
    func answer(to request: [UInt8], unixSeconds: UInt64, stratum: UInt8 = 2, originate: [UInt8]? = nil) -> [UInt8] {
        var a = [UInt8](repeating: 0, count: 48)
        a[0] = 4 << 3 | 4
        a[1] = stratum
        a.replaceSubrange(24..<32, with: originate ?? Array(request[40..<48]))
        let ntp = (unixSeconds + 2_208_988_800) << 32 | 0x8000_0000  // .5 s
        for k in 0..<8 {
            a[32 + k] = UInt8(truncatingIfNeeded: ntp >> (56 - 8 * UInt64(k)))
            a[40 + k] = UInt8(truncatingIfNeeded: ntp >> (56 - 8 * UInt64(k)))
        }
        return a
    }

    func waitRequest(_ peer: UdpPeer, _ manager: Manager) -> [UInt8]? {
        for _ in 0..<100 {
            manager.poll(5)
            if let r = peer.receive() { return r }
        }
        return nil
    }

    @Test func theAnswerToOurRequestIsTheTime() throws {
        let peer = UdpPeer()
        let manager = Manager()
        var times: [Int64] = []
        var errors: [String] = []
        let start = mk_now_ms()
        try manager.sntpConnect("udp://127.0.0.1:\(peer.port)") { _, ev in
            if case .sntpTime(let ms) = ev { times.append(ms) }
            if case .error(let e) = ev { errors.append("\(e)") }
        }
        let request = try #require(waitRequest(peer, manager))
        #expect(request.count == 48 && request[0] == 0x23)  // LI 0, version 4, mode 3
        #expect(!manager.timeSynced)
        // An answer that does not echo our cookie is ignored (spoofed or stale).
        peer.reply(answer(to: request, unixSeconds: 1_000_000_000, originate: [UInt8](repeating: 7, count: 8)))
        manager.pump(ms: 50)
        #expect(times.isEmpty)
        peer.reply(answer(to: request, unixSeconds: 1_800_000_000))
        manager.pump(limitMs: 1000) { !times.isEmpty }
        let roundTrip = mk_now_ms() - start
        #expect(times.count == 1)
        // The server's 1_800_000_000.5 s plus half the round trip (at most what passed).
        let t = try #require(times.first)
        #expect(t >= 1_800_000_000_500 && t <= 1_800_000_000_500 + roundTrip / 2 + 1, "\(t), round trip \(roundTrip) ms")
        #expect(errors.isEmpty)
        // The manager's clock took the answer (and left the system's alone: setsSystemClock
        // is off by default).
        #expect(manager.timeSynced)
        #expect(manager.timeMs >= t && manager.timeMs <= t + 1000, "\(manager.timeMs)")
        manager.close()
    }

    @Test func sntpRequestAsksAgainAndAKissOfDeathCloses() throws {
        let peer = UdpPeer()
        let manager = Manager()
        var times = 0
        var errors: [String] = []
        var closed = false
        let conn = try manager.sntpConnect("udp://127.0.0.1:\(peer.port)") { _, ev in
            switch ev {
            case .sntpTime: times += 1
            case .error(let e): errors.append("\(e)")
            case .close: closed = true
            default: break
            }
        }
        let first = try #require(waitRequest(peer, manager))
        peer.reply(answer(to: first, unixSeconds: 1_800_000_000))
        manager.pump(limitMs: 1000) { times == 1 }
        conn.sntpRequest()
        let second = try #require(waitRequest(peer, manager))
        #expect(first[40..<48] != second[40..<48])  // a fresh cookie
        peer.reply(answer(to: second, unixSeconds: 1_800_000_000, stratum: 0))
        manager.pump(limitMs: 1000) { closed }
        #expect(times == 1)
        #expect(errors.count == 1 && errors[0].contains("kiss-o'-death"))
        #expect(closed)
        manager.close()
    }

    @Test func noAnswerIsAskedAgainThenAnError() throws {
        let peer = UdpPeer()
        let manager = Manager()
        var errors: [String] = []
        var closed = false
        try manager.sntpConnect("udp://127.0.0.1:\(peer.port)") { _, ev in
            if case .error(let e) = ev { errors.append("\(e)") }
            if case .close = ev { closed = true }
        }
        var requests = 0
        manager.pump(limitMs: 8000) {
            if peer.receive() != nil { requests += 1 }
            return closed
        }
        #expect(requests == 3)
        #expect(errors == ["sntp: no answer in time"])
        manager.close()
    }
}
