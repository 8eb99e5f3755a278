import Foundation
import Glibc
import Testing
@testable import Meerkat

/// Debian's mosquitto on a free loopback port, with a generated config (and password
/// file), stopped when the test ends.
final class Mosquitto {
    let port: Int
    /// With `extraListeners`: a WebSocket listener, and a TLS one whose self-signed
    /// certificate (for localhost: mbedTLS 2.28 checks DNS names only) is `certificate`.
    let wsPort: Int
    let tlsPort: Int
    var certificate: [UInt8] = []
    let dir: URL
    private let process = Process()

    /// `port`: where to listen (a free one when nil), e.g. where a client already waits.
    init(users: [String: String] = [:], extraListeners: Bool = false, port: Int? = nil) throws {
        self.port = port ?? Mosquitto.freePort()
        wsPort = Mosquitto.freePort()
        tlsPort = Mosquitto.freePort()
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("meerkat-mqtt-\(getpid())-\(self.port)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var conf = "persistence false\nlistener \(self.port) 127.0.0.1\n"
        if extraListeners {
            let cert = dir.appendingPathComponent("broker.crt").path, key = dir.appendingPathComponent("broker.key").path
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                "-out", cert, "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
            ]
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            chmod(key, 0o644)  // the broker reads it as user mosquitto
            certificate = Array(try Data(contentsOf: URL(fileURLWithPath: cert)))
            conf += "listener \(wsPort) 127.0.0.1\nprotocol websockets\n"
            conf += "listener \(tlsPort) 127.0.0.1\ncertfile \(cert)\nkeyfile \(key)\n"
        }
        if users.isEmpty {
            conf += "allow_anonymous true\n"
        } else {
            let passwords = dir.appendingPathComponent("passwords").path
            FileManager.default.createFile(atPath: passwords, contents: nil)
            for (user, password) in users {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_passwd")
                p.arguments = ["-b", passwords, user, password]
                try p.run()
                p.waitUntilExit()
            }
            conf += "allow_anonymous false\npassword_file \(passwords)\n"
        }
        let confPath = dir.appendingPathComponent("mosquitto.conf").path
        try conf.write(toFile: confPath, atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/mosquitto")
        process.arguments = ["-c", confPath]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Every listener, the WebSocket one included (it came up last, and a test that
        // used it at once failed under load).
        for _ in 0..<200 where !Mosquitto.accepts(self.port) || (extraListeners && !(Mosquitto.accepts(tlsPort) && Mosquitto.accepts(wsPort))) {
            usleep(20_000)
        }
    }

    deinit {
        // SIGKILL: the broker inherits the test thread's blocked signals, SIGTERM included.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    /// SIGSTOP: the broker stops answering (its sockets stay open).
    func pause() { kill(process.processIdentifier, SIGSTOP) }
    func resume() { kill(process.processIdentifier, SIGCONT) }

    /// Runs mosquitto_pub/mosquitto_sub against this broker; their output.
    func run(_ tool: String, _ args: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/\(tool)")
        p.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-V", "mqttv311"] + args
        p.standardOutput = Pipe()
        try p.run()
        return p
    }

    static func accepts(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { Glibc.close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}

/// What an MQTT connection's handler heard, as short strings.
final class MqttLog {
    var events: [String] = []
    var messages: [(topic: String, payload: String, qos: UInt8, retain: Bool)] = []
    var commands: [(MqttPacketType, UInt16)] = []
    var errors: [String] = []

    func handler(_ then: @escaping (Connection, Event) -> Void = { _, _ in }) -> Handler {
        return { conn, ev in
            switch ev {
            case let .mqttOpen(code): self.events.append("open \(code)")
            case let .mqttMessage(m):
                self.messages.append((m.topic.string, m.payload.string, m.qos, m.retain))
            case let .mqttCommand(p): self.commands.append((p.type, p.packetId))
            case let .error(why): self.errors.append("\(why)")
            case .close: self.events.append("close")
            default: break
            }
            then(conn, ev)
        }
    }

    func saw(_ type: MqttPacketType, _ id: UInt16? = nil) -> Bool {
        commands.contains { $0.0 == type && (id == nil || $0.1 == id!) }
    }
}

@Suite(.serialized) struct MqttClientTests {
    @Test func publishesAndReceivesInEachQos() throws {
        let broker = try Mosquitto()
        let manager = Manager()
        defer { manager.close() }
        let log = MqttLog()
        let conn = try manager.mqttConnect(
            "mqtt://127.0.0.1:\(broker.port)", opts: MqttOpts(clientId: "board-1"),
            handler: log.handler())
        #expect(manager.pump { log.events.contains("open 0") })
        #expect(conn.isMqttOpen && conn.isClient)
        let sub = try conn.mqttSub("sensors/+/temp", qos: 2)
        #expect(manager.pump { log.saw(.suback, sub) })
        #expect(try conn.mqttPub("sensors/kitchen/temp", "21.5") == 0)
        let one = try conn.mqttPub("sensors/hall/temp", "19.0", qos: 1)
        let two = try conn.mqttPub("sensors/attic/temp", Array("30.25".utf8), qos: 2)
        try conn.mqttPub("sensors/attic/humidity", "40")  // not matched by the filter
        #expect(one != 0 && two != 0 && one != two)
        let m = try #require(manager.mqttSession(of: conn.slot))
        let session = { manager.services.mqtt.entries[m] }
        #expect(
            manager.pump {
                log.messages.count == 3 && log.saw(.pubcomp, two) && log.saw(.puback, one) && session().releasingCount == 0
            })
        #expect(log.messages.map { $0.topic } == ["sensors/kitchen/temp", "sensors/hall/temp", "sensors/attic/temp"])
        #expect(log.messages.map { $0.payload } == ["21.5", "19.0", "30.25"])
        #expect(log.messages.map { $0.qos } == [0, 1, 2])
        // Every message acknowledged: nothing left in flight, in either direction.
        #expect(session().outgoingCount == 0 && session().storeUsed == 0)
        #expect(throws: ConnectionError.invalidTopic) { try conn.mqttPub("a/+", "x") }
        #expect(throws: ConnectionError.invalidTopic) { try conn.mqttSub("a/#/b") }
        #expect(throws: ConnectionError.invalidState) { try conn.mqttPub("a", "x", qos: 3) }
    }

    /// Meerkat next to mosquitto's own clients: a retained status that mosquitto_sub
    /// reads, and a message from mosquitto_pub that Meerkat's subscription gets.
    @Test func talksWithMosquittosOwnClients() throws {
        let broker = try Mosquitto()
        let manager = Manager()
        defer { manager.close() }
        let log = MqttLog()
        let conn = try manager.mqttConnect("mqtt://localhost:\(broker.port)", handler: log.handler())
        #expect(manager.pump { conn.isMqttOpen })
        try conn.mqttPub("meerkat/board/status", "{\"up\":true}", qos: 1, retain: true)
        _ = try conn.mqttSub("meerkat/board/cmd", qos: 1)
        #expect(manager.pump { log.saw(.suback) && log.saw(.puback) })
        let sub = try broker.run("mosquitto_sub", ["-t", "meerkat/board/status", "-C", "1", "-v"])
        let pub = try broker.run("mosquitto_pub", ["-t", "meerkat/board/cmd", "-m", "report 5", "-q", "1"])
        #expect(manager.pump { log.messages.count == 1 })
        sub.waitUntilExit()
        pub.waitUntilExit()
        let out = (sub.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        #expect(String(decoding: out, as: UTF8.self) == "meerkat/board/status {\"up\":true}\n")
        #expect(log.messages.first?.topic == "meerkat/board/cmd" && log.messages.first?.payload == "report 5")
    }

    @Test func passwordsAreCheckedAndARefusalSaysWhy() throws {
        let broker = try Mosquitto(users: ["board": "s3cret"])
        let manager = Manager()
        defer { manager.close() }
        let bad = MqttLog(), good = MqttLog()
        try manager.mqttConnect(
            "mqtt://127.0.0.1:\(broker.port)", opts: MqttOpts(username: "board", password: "wrong"),
            handler: bad.handler())
        try manager.mqttConnect(
            "mqtt://127.0.0.1:\(broker.port)", opts: MqttOpts(username: "board", password: "s3cret"),
            handler: good.handler())
        #expect(manager.pump { bad.events.contains("close") && good.events.contains("open 0") })
        #expect(bad.events == ["open 5", "close"])
        #expect(bad.errors == ["mqtt: refused: not authorized"])
        #expect(good.errors.isEmpty)
        // The refused session went back: the table has room for as many as before.
        #expect((0..<manager.services.mqtt.capacity).filter { manager.services.mqtt.entries[$0].inUse }.count == 1)
    }

    @Test func keepAlivePingsAndASilentBrokerIsDropped() throws {
        let broker = try Mosquitto()
        let manager = Manager()
        defer { manager.close() }
        let log = MqttLog()
        try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", opts: MqttOpts(keepAlive: 1), handler: log.handler())
        #expect(manager.pump { log.events.contains("open 0") })
        #expect(manager.pump(limitMs: 2500) { log.saw(.pingresp) })  // PINGREQ after 1 s idle, answered
        broker.pause()
        let start = Date()
        #expect(manager.pump(limitMs: 5000) { log.events.contains("close") })
        let waited = Int(Date().timeIntervalSince(start) * 1000)
        #expect(log.errors == ["mqtt: no PINGRESP in time"])
        #expect(waited >= 900 && waited < 3500, "dropped after \(waited) ms")
    }

    @Test func aFullInFlightTableIsBackPressure() throws {
        let broker = try Mosquitto()
        var limits = Limits()
        limits.mqttInFlight = 2
        let manager = Manager(limits: limits)
        defer { manager.close() }
        let log = MqttLog()
        let conn = try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", handler: log.handler())
        #expect(manager.pump { conn.isMqttOpen })
        // More than the whole store (with its topic) never fits: an error, not back-pressure.
        let huge = [UInt8](repeating: 120, count: limits.mqttInFlightBytes)
        #expect(throws: ConnectionError.messageTooLarge) { try conn.mqttPub("t", huge, qos: 1) }
        try conn.mqttPub("t", huge)  // QoS 0 is not kept
        try conn.mqttPub("t", "1", qos: 1)
        try conn.mqttPub("t", "2", qos: 2)
        #expect(throws: ConnectionError.inFlightFull) { try conn.mqttPub("t", "3", qos: 1) }
        try conn.mqttPub("t", "4")  // QoS 0 needs no entry
        #expect(manager.pump { log.saw(.puback) && log.saw(.pubcomp) })
        try conn.mqttPub("t", "5", qos: 1)  // room again
    }

    /// Clean session off: a QoS 1 message the broker never acknowledged is sent again,
    /// with DUP, after the reconnect, and acknowledged there.
    @Test func aKeptSessionSendsUnacknowledgedMessagesAgain() throws {
        let broker = try Mosquitto()
        let manager = Manager()
        defer { manager.close() }
        let opts = MqttOpts(clientId: "kept-1", cleanSession: false)
        let first = MqttLog()
        let conn = try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", opts: opts, handler: first.handler())
        #expect(manager.pump { conn.isMqttOpen })
        broker.pause()
        let id = try conn.mqttPub("kept/t", "again", qos: 1)
        conn.close()
        #expect(manager.pump { first.events.contains("close") })
        let m = try #require((0..<manager.services.mqtt.capacity).first { manager.services.mqtt.entries[$0].opts.clientId == "kept-1" })
        #expect(manager.services.mqtt.entries[m].inUse && manager.services.mqtt.entries[m].slot == -1 && manager.services.mqtt.entries[m].outgoingCount == 1)
        broker.resume()
        let second = MqttLog()
        let again = try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", opts: opts, handler: second.handler())
        #expect(manager.pump { second.saw(.puback, id) })
        #expect(again.isMqttOpen && manager.services.mqtt.entries[m].outgoingCount == 0)
        #expect(manager.mqttSession(of: again.slot) == m)
    }

    /// The same session work over TLS (the broker's certificate trusted as `ca`) and over
    /// WebSocket (subprotocol "mqtt"), with a message larger than one TCP read.
    @Test func mqttsAndMqttOverWebSocket() throws {
        let broker = try Mosquitto(extraListeners: true)
        let manager = Manager()
        defer { manager.close() }
        let big = String(repeating: "0123456789abcdef", count: 375)  // 6,000 bytes: within the 8 KiB in-flight store
        for url in ["mqtts://localhost:\(broker.tlsPort)", "ws://127.0.0.1:\(broker.wsPort)/mqtt"] {
            let log = MqttLog()
            let conn = try manager.mqttConnect(url, opts: MqttOpts(tls: TlsOpts(ca: broker.certificate)), handler: log.handler())
            #expect(manager.pump { conn.isMqttOpen }, "\(url): \(log.errors)")
            _ = try conn.mqttSub("loop/#", qos: 1)
            #expect(manager.pump { log.saw(.suback) })
            try conn.mqttPub("loop/small", "hello", qos: 1)
            try conn.mqttPub("loop/big", big, qos: 2)
            #expect(manager.pump { log.messages.count == 2 && log.saw(.pubcomp) }, "\(url)")
            #expect(log.messages.first?.payload == "hello" && log.messages.last?.payload == big, "\(url)")
            conn.mqttDisconnect()
            #expect(manager.pump { log.events.contains("close") } && log.errors.isEmpty, "\(url): \(log.errors)")
        }
        // An untrusted broker certificate is refused before MQTT starts.
        let log = MqttLog()
        try manager.mqttConnect("mqtts://127.0.0.1:\(broker.tlsPort)", handler: log.handler())
        #expect(manager.pump { log.events.contains("close") })
        #expect(!log.events.contains("open 0") && log.errors.count == 1)
    }

    /// Clean session off: what the broker queued for this client while it was away
    /// arrives right after the CONNACK of the reconnect, and is delivered.
    @Test func aKeptSessionGetsWhatWasQueuedWhileAway() throws {
        let broker = try Mosquitto()
        let manager = Manager()
        defer { manager.close() }
        let opts = MqttOpts(clientId: "away-1", cleanSession: false)
        let first = MqttLog()
        let conn = try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", opts: opts, handler: first.handler())
        #expect(manager.pump { conn.isMqttOpen })
        _ = try conn.mqttSub("away/#", qos: 1)
        #expect(manager.pump { first.saw(.suback) })
        conn.close()
        #expect(manager.pump { first.events.contains("close") })
        let pub = try broker.run("mosquitto_pub", ["-t", "away/news", "-m", "while you were out", "-q", "1"])
        pub.waitUntilExit()
        let second = MqttLog()
        _ = try manager.mqttConnect("mqtt://127.0.0.1:\(broker.port)", opts: opts, handler: second.handler())
        #expect(manager.pump { second.messages.count == 1 })
        #expect(second.messages.first?.payload == "while you were out")
    }

    /// MQTT 3.1.1 has no receive maximum: a broker may leave any number of QoS 2
    /// messages waiting for their PUBREL (mosquitto: `max_inflight_messages`, 0 for no
    /// limit), with any ids. Each is taken and delivered once; a DUP of one still waiting
    /// is answered again and not delivered; after its PUBREL the id is a new message.
    @Test func everyQos2MessageAwaitingPubrelIsTaken() throws {
        let fake = try FakeBroker()
        let manager = Manager()
        defer { manager.close() }
        let log = MqttLog()
        let conn = try manager.mqttConnect("mqtt://127.0.0.1:\(fake.port)", handler: log.handler())
        #expect(manager.pump { fake.acceptIfWaiting() })
        #expect(manager.pump { fake.received().count >= 14 })  // the CONNECT
        let connectBytes = fake.received().count
        fake.send([0x20, 0x02, 0x00, 0x00])
        #expect(manager.pump { log.events.contains("open 0") })
        func publish(_ id: UInt16, dup: Bool = false) -> [UInt8] {
            let payload = Array("\(id)".utf8)
            return [dup ? 0x3C : 0x34, UInt8(5 + payload.count), 0x00, 0x01, 0x74, UInt8(id >> 8), UInt8(id & 0xFF)] + payload
        }
        let ids: [UInt16] = [1, 65_535] + (2...999).map { UInt16($0 * 61) }  // 1,000 ids, none released
        for start in stride(from: 0, to: ids.count, by: 100) {
            fake.send(ids[start..<(start + 100)].flatMap { publish($0) })
            try #require(
                manager.pump {
                    _ = fake.received(); return log.messages.count == start + 100
                }, "\(log.errors)")
        }
        let m = try #require(manager.mqttSession(of: conn.slot))
        #expect(manager.services.mqtt.entries[m].releasingCount == 1000)
        fake.send(publish(1, dup: true) + publish(65_535, dup: true))  // still waiting: answered, not delivered
        fake.send([0x62, 0x02, 0x00, 0x01] + publish(1))  // released, then a new message
        let pubrecs = { stride(from: connectBytes, to: fake.received().count, by: 4).filter { fake.received()[$0] == 0x50 }.count }
        #expect(manager.pump { pubrecs() == 1003 })
        #expect(log.messages.count == 1001 && log.messages.last?.payload == "1")
        #expect(log.messages.map { $0.payload }.sorted() == (ids.map { "\($0)" } + ["1"]).sorted())
        #expect(log.errors.isEmpty && conn.isMqttOpen && manager.services.mqtt.entries[m].releasingCount == 1000)
    }

    /// A broker that answers with bytes that are not MQTT is dropped with the reason.
    @Test func aMalformedPacketFromTheBrokerClosesWithTheReason() throws {
        let fake = try FakeBroker()
        let manager = Manager()
        defer { manager.close() }
        let log = MqttLog()
        try manager.mqttConnect("mqtt://127.0.0.1:\(fake.port)", handler: log.handler())
        #expect(manager.pump { fake.acceptIfWaiting() })
        #expect(manager.pump { fake.received().count >= 14 })  // the CONNECT
        fake.send([0x20, 0x02, 0x00, 0x00, 0x36, 0x03, 0x00, 0x01, 0x74])  // CONNACK, then PUBLISH with QoS 3
        #expect(manager.pump { log.events.contains("close") })
        #expect(log.events == ["open 0", "close"] && log.errors == ["mqtt: bad flags"])
    }
}

/// A listening socket the test drives by hand: it plays a broker that misbehaves.
final class FakeBroker {
    let listener: Int32
    var conn: Int32 = -1
    let port: Int

    init() throws {
        port = Mosquitto.freePort()
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        _ = setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        listen(listener, 4)
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        if conn >= 0 { Glibc.close(conn) }
        Glibc.close(listener)
    }

    func acceptIfWaiting() -> Bool {
        if conn < 0 {
            conn = accept(listener, nil, nil)
            if conn >= 0 { _ = fcntl(conn, F_SETFL, fcntl(conn, F_GETFL) | O_NONBLOCK) }
        }
        return conn >= 0
    }

    private var got: [UInt8] = []
    func received() -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
        if n > 0 { got += buf[0..<n] }
        return got
    }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}
