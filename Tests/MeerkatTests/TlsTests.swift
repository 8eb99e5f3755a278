import Foundation
import Testing
@testable import Meerkat

/// A certificate and key made for the test with the openssl CLI (ECDSA P-256, self-signed).
private func makeCertificate(_ name: String, der: Bool = false, extra: [String] = []) throws -> (
    cert: [UInt8], key: [UInt8]
) {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-tls-\(getpid())-\(name)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let cert = dir.appendingPathComponent("c").path, key = dir.appendingPathComponent("k").path
    var args = [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", cert, "-days", "1", "-subj", "/CN=\(name)",
    ]
    if der { args += ["-outform", "DER"] }
    args += extra
    try runOpenssl(args)
    return (Array(try Data(contentsOf: URL(fileURLWithPath: cert))), Array(try Data(contentsOf: URL(fileURLWithPath: key))))
}

/// Runs the openssl CLI with `args`; it must succeed (its errors are not shown).
func runOpenssl(_ args: [String]) throws {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = args
    p.standardError = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try #require(p.terminationStatus == 0)
}

/// What `openssl x509 -fingerprint -sha256` prints for a PEM certificate.
private func opensslFingerprint(_ pem: [UInt8]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = ["x509", "-noout", "-fingerprint", "-sha256"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    try p.run()
    input.fileHandleForWriting.write(Data(pem))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    return String(text.split(separator: "=").last!.trimmingCharacters(in: .whitespacesAndNewlines))
}

@Suite struct TlsTests {
    @Test func peerIdentityFromACertificate() throws {
        let san = "subjectAltName=DNS:a.example,IP:127.0.0.1,DNS:b.example,email:x@y.example"
        let pem = try makeCertificate("device-7", extra: ["-addext", san]).cert
        let peer = try #require(TlsPeer(certificate: pem))
        #expect(peer.commonName == "device-7")
        #expect(peer.dnsNames == ["a.example", "b.example"])  // DNS names only, in order
        #expect(!peer.truncated)
        #expect(peer.sha256.count == 32)
        #expect(peer.fingerprint == (try opensslFingerprint(pem)))
        // DER gives the same identity.
        let der = try makeCertificate("device-8", der: true).cert
        #expect(TlsPeer(certificate: der)?.commonName == "device-8")
        #expect(TlsPeer(certificate: Array("not a certificate".utf8)) == nil)
    }

    @Test func peerIdentityKeepsWhatFitsAndSaysSo() throws {
        let names = (0..<10).map { "DNS:name\($0).example" }.joined(separator: ",")
        let many = try makeCertificate("many", extra: ["-addext", "subjectAltName=\(names)"]).cert
        let peer = try #require(TlsPeer(certificate: many))
        #expect(peer.dnsNames == (0..<8).map { "name\($0).example" })
        #expect(peer.truncated)
        let long = String(repeating: "c", count: 64)
        #expect(TlsPeer(certificate: try makeCertificate(long).cert)?.commonName == long)
        #expect(TlsPeer(certificate: try makeCertificate(long).cert)?.truncated == false)
    }

    @Test func alpnListsAreCheckedAndPartOfTheConfig() throws {
        let pair = try makeCertificate("alpn")
        var table = TlsConfigTable()
        defer { table.free() }
        let limits = Limits()
        let opts = TlsOpts(cert: pair.cert, key: pair.key)
        let http = try table.index(for: opts, server: true, defaultALPN: "http/1.1", limits: limits)
        #expect(try table.index(for: opts, server: true, defaultALPN: "http/1.1", limits: limits) == http)
        #expect(try table.index(for: opts, server: true, defaultALPN: "", limits: limits) != http)
        for bad in [["a,b"], [""], ["a", "b", "c", "d", "e"], [String(repeating: "x", count: 64)]] {
            var o = opts
            o.alpn = bad
            #expect(throws: TlsError.badALPN) { try table.index(for: o, server: true, limits: limits) }
        }
        #expect(TlsOpts(alpn: ["mqtt", "x-amzn-mqtt-ca"]).alpnList(byDefault: "http/1.1") == "mqtt,x-amzn-mqtt-ca")
        #expect(TlsOpts().alpnList(byDefault: "http/1.1") == "http/1.1")
        #expect(TlsOpts(alpn: []).alpnList(byDefault: "http/1.1") == "")
    }

    @Test func configsAreFoundByContentAndParsedOnce() throws {
        let pairs = try (0..<5).map { try makeCertificate("host\($0)") }
        var table = TlsConfigTable()
        defer { table.free() }
        let limits = Limits()
        let first = try table.index(for: TlsOpts(cert: pairs[0].cert, key: pairs[0].key), server: true, limits: limits)
        // The guide builds TlsOpts on every accept; fresh arrays with the same bytes find
        // the entry made the first time.
        let again = try table.index(
            for: TlsOpts(cert: Array(pairs[0].cert), key: Array(pairs[0].key)), server: true,
            limits: limits)
        #expect(again == first)
        var seen: Set<Int32> = [first]
        for p in pairs[1..<4] {
            seen.insert(try table.index(for: TlsOpts(cert: p.cert, key: p.key), server: true, limits: limits))
        }
        #expect(seen.count == TlsConfigTable.capacity)
        #expect(throws: TlsError.tooManyConfigs) {
            try table.index(for: TlsOpts(cert: pairs[4].cert, key: pairs[4].key), server: true, limits: limits)
        }
    }

    @Test func badOptionsSayWhatIsWrong() throws {
        let a = try makeCertificate("a"), b = try makeCertificate("b")
        let manager = Manager()
        defer { manager.close() }
        #expect(throws: ListenError.tls(.keyMismatch)) {
            try manager.listen("https://127.0.0.1:0", tls: TlsOpts(cert: a.cert, key: b.key))
        }
        #expect(throws: ListenError.tls(.badKey)) {
            try manager.listen("https://127.0.0.1:0", tls: TlsOpts(cert: a.cert, key: Array("not a key".utf8)))
        }
        #expect(throws: ListenError.tls(.noCertificate)) { try manager.listen("https://127.0.0.1:0", tls: TlsOpts()) }
        // DER is taken as well as PEM.
        let der = try makeCertificate("der", der: true)
        let l = try manager.listen("https://127.0.0.1:0", tls: TlsOpts(cert: der.cert, key: der.key))
        #expect(l.isTLS && l.isListening)
    }

    @Test func theSessionPoolHandsEachSessionToOneConnection() {
        var pool = TlsSessionPool(capacity: 3, pairs: 2, slots: 128)
        defer { pool.deallocate() }
        let taken = (0..<3).compactMap { pool.take(for: Int32(10 + $0)) }
        #expect(Set(taken).count == 3)
        #expect(pool.take(for: 99) == nil)  // empty: the new connection is refused
        pool.handshaking.append(taken[1], now: 5)
        pool.give(taken[1])
        #expect(pool.handshaking.first == -1)  // a freed session leaves the handshake queue
        #expect(pool.take(for: 42) == taken[1])
        #expect(pool.owner[Int(taken[1])] == 42)
        #expect(pool.lowestFree == 0)
        #expect(pool.parking)  // Debian's mbedTLS 2.28: the one tls.c parks for
        #expect(pool.pairStats.blocks == 2 && pool.freePairs == 2)  // sessions hold none until they start
    }

    /// The guide's WSS server: `TlsOpts` built and `tlsInit` called on every `.accept`.
    /// Three clients (openssl s_client) are served, `.tlsHandshake` fires for each, and
    /// the certificate was parsed once.
    @Test func guideStyleTlsInitOnAcceptServesEveryClient() throws {
        let pair = try makeCertificate("guide")
        var handshakes = 0
        let manager = Manager { conn, ev in
            switch ev {
            case .accept:
                conn.tlsInit(TlsOpts(cert: pair.cert, key: pair.key))
            case .tlsHandshake:
                handshakes += 1
            case .httpMessage(let hm):
                try? conn.reply(200, "secure \(hm.uri.string)\n")
            default:
                break
            }
        }
        defer { manager.close() }
        let port = try manager.listen("https://127.0.0.1:0", http: true).localAddress!.port
        for i in 0..<3 {
            let text = try sClient(
                port: port, request: "GET /n\(i) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                pumping: manager)
            #expect(text.hasPrefix("HTTP/1.1 200 OK"))
            #expect(text.hasSuffix("secure /n\(i)\n"))
        }
        #expect(handshakes == 3)
        #expect(manager.stats.tlsHandshakes == 3)
        #expect(manager.services.tlsConfigs.count == 1)  // parsed on the first accept only
        // s_client may exit before the loop has read its close; give the loop time to see it.
        let whole = manager.pump { manager.stats.tlsSessions.free == manager.stats.tlsSessions.blocks }
        #expect(whole, "every TLS session is back in the pool")
        // Each connection took a pair to move data and gave it back between records.
        #expect(manager.stats.tlsPairs.free == manager.stats.tlsPairs.blocks)
        #expect(manager.stats.tlsParks > 0 && manager.stats.tlsUnparks > 0)
    }

    /// `tlsInit` once on a listener: its connections get TLS with those options.
    @Test func tlsInitOnAListenerCoversItsConnections() throws {
        let pair = try makeCertificate("listener")
        let manager = Manager { conn, ev in
            if case .httpMessage = ev { try? conn.reply(200, "tls \(conn.isTLS)\n") }
        }
        defer { manager.close() }
        let listener = try manager.listen("tcp://127.0.0.1:0", http: true)
        #expect(!listener.isTLS)
        #expect(listener.tlsInit(TlsOpts(cert: pair.cert, key: pair.key)))
        #expect(listener.isTLS)
        let text = try sClient(
            port: listener.localAddress!.port,
            request: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", pumping: manager)
        #expect(text.hasSuffix("tls true\n"))
        #expect(manager.stats.tlsHandshakes == 1)
    }

    /// Parking off (as with an mbedTLS other than 2.28): each connection holds a pair of
    /// its own (its context's buffers, from mbedtls_ssl_setup) from start to end, and
    /// gives it back when it closes; the same session serves the next connection.
    @Test func withoutParkingEachConnectionKeepsItsPairToTheEnd() throws {
        let pair = try makeCertificate("noparking")
        var limits = Limits()
        limits.tlsParking = false
        limits.tlsBufferPairs = 2
        let manager = Manager(limits: limits) { conn, ev in
            if case .httpMessage(let hm) = ev { try? conn.reply(200, "plain pairs \(hm.uri.string)\n") }
        }
        defer { manager.close() }
        #expect(!manager.services.tlsSessions.parking)
        let port = try manager.listen("https://127.0.0.1:0", tls: TlsOpts(cert: pair.cert, key: pair.key)).localAddress!.port
        for i in 0..<3 {
            let text = try sClient(
                port: port, request: "GET /p\(i) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", pumping: manager)
            #expect(text.hasSuffix("plain pairs /p\(i)\n"))
        }
        let back = manager.pump { manager.stats.tlsPairs.free == 2 }
        #expect(back, "every pair is back once its connection closed")
        #expect(manager.stats.tlsParks == 0 && manager.stats.tlsPairs.lowestFree == 1)
    }
}

/// Runs `openssl s_client` against 127.0.0.1:`port`, sends `request`, and polls `manager`
/// until the client exits (10 s at most); returns what the client printed.
private func sClient(port: Int, request: String, pumping manager: Manager) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = ["s_client", "-connect", "127.0.0.1:\(port)", "-quiet", "-ign_eof"]
    let input = Pipe(), output = Pipe()
    p.standardInput = input
    p.standardOutput = output
    p.standardError = FileHandle.nullDevice
    try p.run()
    input.fileHandleForWriting.write(Data(request.utf8))
    let deadline = Date().addingTimeInterval(10)
    while p.isRunning && Date() < deadline { manager.poll(5) }
    return String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
}

/// `tlsInit` on a client connection starts a TLS *client* (STARTTLS, or TLS after a
/// proxy's CONNECT): a plain `tcp://` connect to `openssl s_server`, then TLS that checks
/// the server's certificate, then an HTTP request over it.
@Suite(.serialized) struct TlsClientUpgradeTests {
    @Test func tlsInitOnAClientStartsATlsClient() throws {
        let (cert, key) = try makeCertificate("upgrade.test")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-starttls-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let certPath = dir.appendingPathComponent("c").path, keyPath = dir.appendingPathComponent("k").path
        try Data(cert).write(to: URL(fileURLWithPath: certPath))
        try Data(key).write(to: URL(fileURLWithPath: keyPath))
        // A port nothing listens on, for s_server.
        let probe = Manager()
        let port = try #require(try probe.listen("tcp://127.0.0.1:0").localAddress).port
        probe.close()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certPath, "-key", keyPath, "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {  // SIGKILL: s_server inherits the test thread's blocked signals, SIGTERM included
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }

        let manager = Manager()
        var response = "", errors: [String] = []
        var handshook = false
        var conn: Connection?
        for _ in 0..<50 where !handshook {  // until s_server listens
            errors = []
            let c = try manager.connect("tcp://127.0.0.1:\(port)") { conn, ev in
                switch ev {
                case .connect:
                    #expect(!conn.isTLS)
                    #expect(conn.tlsInit(TlsOpts(ca: cert, name: "upgrade.test")))
                case .tlsHandshake:
                    handshook = true
                    try? conn.send("GET / HTTP/1.0\r\n\r\n")
                case .read:
                    response += conn.received.string
                    conn.consume(conn.received.count)
                case .error(let text): errors.append("\(text)")
                default: break
                }
            }
            conn = c
            manager.pump { !c.isOpen || handshook }
            if !handshook { manager.pump(ms: 100) }
        }
        #expect(handshook)
        #expect(conn?.isTLS == true)
        #expect(manager.pump { response.contains("</HTML>") || response.contains("</html>") })
        #expect(response.hasPrefix("HTTP/1.0 200 ok"))
        #expect(errors.isEmpty)
        #expect(manager.stats.tlsHandshakes == 1)
    }

    /// `tlsInit` on a client before `.connect` (at `.open`, as a server calls it at
    /// `.accept`) cannot start TLS: no socket is up yet. It used to return false and
    /// nothing else, so the app went on in the clear; it is an `.error`, then `.close`,
    /// and nothing reaches the server. A UDP client gets the same. A send at `.open`
    /// is refused as before `.connect` (with an IP literal it used to go out).
    @Test func tlsInitOnAClientBeforeConnectIsAnError() throws {
        let manager = Manager()
        var received = 0
        let listener = try manager.listen("tcp://127.0.0.1:0") { conn, ev in
            if case .read = ev {
                received += conn.received.count
                conn.consume(conn.received.count)
            }
        }
        let port = try #require(listener.localAddress).port
        for url in ["tcp://127.0.0.1:\(port)", "udp://127.0.0.1:\(port)"] {
            var events: [String] = []
            var started = true
            let c = try manager.connect(url) { conn, ev in
                switch ev {
                case .open:
                    do throws(ConnectionError) {
                        try conn.send("in the clear before it is up")
                        events.append("sent at open")
                    } catch {
                        #expect(error == .invalidState)
                    }
                    started = conn.tlsInit(TlsOpts())
                case .connect:
                    events.append("connect")
                    try? conn.send("secret in the clear")
                case .error(let text): events.append("\(text)")
                case .close: events.append("close")
                default: break
                }
            }
            manager.pump { !c.isOpen }
            manager.pump(ms: 50)
            #expect(!started, "\(url)")
            #expect(events.first?.hasPrefix("TLS: ") == true, "\(url): \(events)")
            #expect(events.last == "close", "\(url): \(events)")
            #expect(!events.contains("connect"), "\(url): \(events)")
        }
        #expect(received == 0)
    }

    @Test func aClientUpgradeChecksTheCertificate() throws {
        let (cert, key) = try makeCertificate("upgrade.test")
        let (otherCA, _) = try makeCertificate("someone.else")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-starttls2-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let certPath = dir.appendingPathComponent("c").path, keyPath = dir.appendingPathComponent("k").path
        try Data(cert).write(to: URL(fileURLWithPath: certPath))
        try Data(key).write(to: URL(fileURLWithPath: keyPath))
        let probe = Manager()
        let port = try #require(try probe.listen("tcp://127.0.0.1:0").localAddress).port
        probe.close()
        let server = Process()
        server.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        server.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", certPath, "-key", keyPath, "-www", "-quiet"]
        server.standardOutput = FileHandle.nullDevice
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer {  // SIGKILL: s_server inherits the test thread's blocked signals, SIGTERM included
            kill(server.processIdentifier, SIGKILL)
            server.waitUntilExit()
        }

        let manager = Manager()
        var errors: [String] = []
        for _ in 0..<50 where !errors.contains(where: { $0.hasPrefix("TLS") }) {
            let c = try manager.connect("tcp://127.0.0.1:\(port)") { conn, ev in
                switch ev {
                case .connect: conn.tlsInit(TlsOpts(ca: otherCA, name: "upgrade.test"))
                case .error(let text): errors.append("\(text)")
                default: break
                }
            }
            manager.pump { !c.isOpen }
            manager.pump(ms: 50)
        }
        #expect(errors.last == "TLS: certificate not trusted (unknown CA, or self-signed)")
    }
}

/// Parking's two gaps (issue 25): connections waiting for a record-buffer pair are
/// waiting on this side, not on their peers. A server with one pair, which a bare TCP
/// connect (a handshake that never comes) takes, and wss clients of a second manager in
/// the same thread.
@Suite(.serialized) struct TlsPairWaitTests {
    final class Seen {
        var opened: [Connection] = []
        var received: [String] = []
        var errors: [String] = []
        var heard: [String] = []
    }

    final class Rig {
        let server: Manager
        let client: Manager
        let seen = Seen()
        var opened: [Connection] { seen.opened }
        var received: [String] { seen.received }
        var errors: [String] { seen.errors }
        var heard: [String] { seen.heard }

        init(pairs: Int, sendBuffers: Int) throws {
            let pair = try makeCertificate("pairwait")
            var limits = Limits()
            limits.tlsBufferPairs = pairs
            limits.sendBuffers = sendBuffers
            limits.reclaimGraceMs = 200
            let seen = self.seen
            server = Manager(limits: limits) { conn, ev in
                switch ev {
                case .httpMessage(let hm): conn.wsUpgrade(hm)
                case .wsOpen: seen.opened.append(conn)
                case .wsMessage(let wm): seen.heard.append(wm.text)
                case .error(let why): seen.errors.append("\(why)")
                default: break
                }
            }
            client = Manager()
            port = try server.listen("wss://127.0.0.1:0", tls: TlsOpts(cert: pair.cert, key: pair.key)).localAddress!.port
        }

        var port = 0

        /// `n` wss clients, upgraded and parked on the server's side.
        func connect(_ n: Int) throws -> [Connection] {
            var clients: [Connection] = []
            for _ in 0..<n {
                clients.append(
                    try client.connect("wss://127.0.0.1:\(port)/ws", tls: TlsOpts(skipVerification: true)) { [seen] _, ev in
                        if case .wsMessage(let wm) = ev { seen.received.append(wm.text) }
                    })
            }
            let up = pumpBoth { self.opened.count == n && self.server.stats.tlsPairs.free == self.server.stats.tlsPairs.blocks }
            #expect(up, "the clients are up and parked")
            return clients
        }

        /// Polls both managers until `done` (3 s at most).
        @discardableResult
        func pumpBoth(until done: () -> Bool) -> Bool {
            for _ in 0..<300 where !done() {
                server.poll(5)
                client.poll(5)
            }
            return done()
        }

        /// A bare TCP connect: its handshake holds the server's pair and never moves.
        func holdThePair() -> TestClient {
            let stuck = TestClient(port: port)
            #expect(server.pump { self.server.stats.tlsPairs.free == 0 })
            return stuck
        }
    }

    /// Output waiting for a pair is not the stalled output reclaim's rule 1 closes: its peer
    /// reads. A send that finds the send pool full of such output is refused
    /// (`sendBufferFull`, back-pressure as when peers do not read) while the pair's holder
    /// is within its grace; once past it, the holder is closed, not the waiting recipient,
    /// whose message then goes out. Before, the recipient was evicted.
    @Test func aRecipientWaitingForAPairIsNotReclaimedForItsOutput() throws {
        let rig = try Rig(pairs: 1, sendBuffers: 1)
        defer {
            rig.client.close()
            rig.server.close()
        }
        _ = try rig.connect(2)
        let stuck = rig.holdThePair()
        _ = stuck
        let t0 = rig.server.now
        rig.server.testClockMs = t0
        try rig.opened[0].wsSend("to the first")  // waits for the pair, in the only send block
        #expect(rig.server.services.tlsSessions.waiters.contains(rig.server.live(rig.opened[0])!))
        // A handler runs after the grace: the first's output has waited past it (the loop
        // reclaims pairs after the handlers of a poll).
        rig.server.testClockMs = t0 + 201
        rig.server.now = t0 + 201
        #expect(throws: ConnectionError.sendBufferFull) { try rig.opened[1].wsSend("to the second") }
        #expect(rig.server.evictions == 0, "the recipient waiting for a pair was closed for its output")
        #expect(rig.opened[0].isOpen)
        // The next polls reclaim the stalled handshake's pair: the first's message goes out.
        rig.server.testClockMs = nil
        #expect(rig.pumpBoth { rig.received == ["to the first"] })
        #expect(rig.errors.contains { $0.hasPrefix("TLS: handshake stalled") })
        try rig.opened[1].wsSend("to the second")
        #expect(rig.pumpBoth { rig.received.count == 2 })
    }

    /// A connection woken with a pair that it has no use for now (its reading paused for
    /// a receive block, nothing to write) gives it back at once, not at the reclaim.
    @Test func aWokenWaiterWithNothingToDoGivesThePairBack() throws {
        let rig = try Rig(pairs: 1, sendBuffers: 4)
        defer {
            rig.client.close()
            rig.server.close()
        }
        let clients = try rig.connect(1)
        let stuck = rig.holdThePair()
        try clients[0].wsSend("hello")
        let s = rig.server.live(rig.opened[0])!
        #expect(rig.pumpBoth { rig.server.services.tlsSessions.waiters.contains(s) })
        // As if its reading had paused for a receive block meanwhile.
        rig.server.slots[Int(s)].flags.insert(.readPaused)
        withExtendedLifetime(stuck) {}
        Glibc.shutdown(stuck.fd, Int32(SHUT_RDWR))  // the handshake's peer goes: its pair comes back
        let back = rig.server.pump { rig.server.stats.tlsPairs.free == 1 && !rig.server.services.tlsSessions.waiters.contains(s) }
        #expect(back, "the woken waiter gave the pair back")
        // Reading again, it takes a pair and its message is read.
        rig.server.slots[Int(s)].flags.remove(.readPaused)
        rig.server.setInterest(s, .read, adding: true)
        #expect(rig.pumpBoth { rig.heard == ["hello"] })
        #expect(rig.server.pump { rig.server.stats.tlsPairs.free == 1 })
    }
}
