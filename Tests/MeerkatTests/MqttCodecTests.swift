import Testing
@testable import Meerkat

/// The MQTT 3.1.1 packet codec and topic rules, without sockets (issue 14): every packet
/// type written and read back, the remaining-length forms, and malformed packets.
@Suite struct MqttCodecTests {
    /// Writes with `body` into a fresh buffer and returns the bytes.
    func written(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 70_000)
        defer { p.deallocate() }
        var w = ByteWriter(base: p, capacity: 70_000)
        body(&w)
        return Array(w.written)
    }

    func parse(_ bytes: [UInt8], max: Int = 1 << 20) -> MqttParseResult {
        bytes.withUnsafeBytes { MqttParser.parse($0, maxPacket: max) }
    }

    /// The packet, or a failed expectation.
    func packet(_ bytes: [UInt8], _ check: (MqttPacket) -> Void) {
        guard case let .packet(p) = parse(bytes) else {
            Issue.record("not a packet: \(CodecVectors.printable(UnsafeRawBufferPointer(start: bytes, count: bytes.count)))")
            return
        }
        #expect(p.length == bytes.count)
        check(p)
    }

    func malformed(_ bytes: [UInt8]) -> MqttMalformed? {
        if case let .malformed(m) = parse(bytes) { return m }
        return nil
    }

    func raw(_ s: StaticString) -> UnsafeRawBufferPointer { s.rawBuffer }

    @Test func connectRoundTripsWithEveryField() {
        let bytes = written {
            MqttWriter.connect(
                &$0, clientId: raw("board-7"), keepAlive: 30, cleanSession: false,
                will: .init(topic: raw("meerkat/board-7/status"), message: raw("offline"), qos: 1, retain: true),
                username: raw("user"), password: raw("pw"))
        }
        packet(bytes) { p in
            #expect(p.type == .connect && p.keepAlive == 30)
            #expect(p.connectFlags == 0x80 | 0x40 | 0x20 | 0x08 | 0x04)
            let f = p.connectFields
            #expect(f.clientId == "board-7" && f.willTopic == "meerkat/board-7/status" && f.willMessage == "offline")
            #expect(f.username == "user" && f.password == "pw")
        }
        // The bytes as §3.1 lays them out: header, "MQTT", level 4, flags, keep-alive.
        #expect(Array(bytes[0..<12]) == [0x10, UInt8(bytes.count - 2), 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 0xEC, 0, 30])
        let plain = written {
            MqttWriter.connect(&$0, clientId: raw(""), keepAlive: 0, cleanSession: true, will: nil, username: nil, password: nil)
        }
        #expect(plain == [0x10, 12, 0, 4, 0x4D, 0x51, 0x54, 0x54, 4, 0x02, 0, 0, 0, 0])
    }

    @Test func connectRefusesWhatTheSpecForbids() {
        func connect(level: UInt8 = 4, flags: UInt8, tail: [UInt8] = [0, 1, 0x61]) -> [UInt8] {
            let body: [UInt8] = [0, 4, 0x4D, 0x51, 0x54, 0x54, level, flags, 0, 10] + tail
            return [0x10, UInt8(body.count)] + body
        }
        #expect(malformed(connect(flags: 0x01)) == .badField)  // reserved bit
        #expect(malformed(connect(level: 3, flags: 0)) == .badField)  // MQTT 3.1's level
        #expect(malformed(connect(flags: 0x40)) == .badField)  // password without user name
        #expect(malformed(connect(flags: 0x18)) == .badField)  // will QoS 3
        #expect(malformed(connect(flags: 0x08)) == .badField)  // will QoS without a will
        #expect(malformed(connect(flags: 0x80)) == .badLength)  // user name flag, no user name
        #expect(malformed(connect(flags: 0, tail: [0, 1, 0x61, 0x62])) == .badLength)  // bytes left over
        #expect(malformed(connect(flags: 0, tail: [0, 1, 0x00])) == .badTopic)  // U+0000 in the client id
    }

    @Test func publishInEachQosRoundTrips() {
        for qos: UInt8 in 0...2 {
            let bytes = written {
                MqttWriter.publish(
                    &$0, topic: raw("a/b"), payload: raw("hello"), qos: qos, retain: qos == 1,
                    dup: qos == 2, packetId: qos == 0 ? 0 : 513)
            }
            packet(bytes) { p in
                #expect(p.type == .publish && p.qos == qos && p.retain == (qos == 1) && p.dup == (qos == 2))
                #expect(p.topic == "a/b" && p.payload == "hello")
                #expect(p.packetId == (qos == 0 ? 0 : 513))
            }
        }
        // An empty payload is a message too (a retained one clears the topic).
        packet(written { MqttWriter.publish(&$0, topic: raw("t"), payload: raw(""), qos: 0, retain: true, dup: false, packetId: 0) }) {
            #expect($0.payload.isEmpty && $0.retain)
        }
    }

    @Test func publishRefusesBadFlagsTopicsAndIds() {
        #expect(malformed([0x36, 5, 0, 1, 0x74, 0, 1]) == .badFlags)  // QoS 3
        #expect(malformed([0x38, 3, 0, 1, 0x74]) == .badFlags)  // DUP on QoS 0
        #expect(malformed([0x30, 3, 0, 1, 0x2B]) == .badTopic)  // "+" in a topic name
        #expect(malformed([0x30, 5, 0, 3, 0x61, 0x2F, 0x23]) == .badTopic)  // "a/#"
        #expect(malformed([0x30, 2, 0, 0]) == .badTopic)  // empty topic
        #expect(malformed([0x30, 4, 0, 2, 0xC3, 0x28]) == .badTopic)  // not UTF-8
        #expect(malformed([0x30, 3, 0, 5, 0x61]) == .badLength)  // topic runs past the packet
        #expect(malformed([0x32, 5, 0, 1, 0x74, 0, 0]) == .badPacketId)  // QoS 1 with id 0
        #expect(malformed([0x32, 4, 0, 1, 0x74, 0]) == .badLength)  // id cut short
    }

    @Test func acksSubscriptionsAndPingsRoundTrip() {
        for type in [MqttPacketType.puback, .pubrec, .pubrel, .pubcomp, .unsuback] {
            packet(written { MqttWriter.ack(&$0, type, packetId: 0xBEEF) }) { #expect($0.type == type && $0.packetId == 0xBEEF) }
        }
        #expect(written { MqttWriter.ack(&$0, .pubrel, packetId: 1) } == [0x62, 2, 0, 1])  // PUBREL's fixed flags
        packet(written { MqttWriter.subscribe(&$0, packetId: 7, filter: raw("sensors/+/temp"), qos: 2) }) { p in
            var seen: [(String, UInt8)] = []
            p.forEachFilter { seen.append(($0.string, $1)) }
            #expect(p.type == .subscribe && p.packetId == 7 && seen.count == 1 && seen[0] == ("sensors/+/temp", 2))
        }
        packet(written { MqttWriter.unsubscribe(&$0, packetId: 8, filter: raw("#")) }) { p in
            var seen: [String] = []
            p.forEachFilter { f, _ in seen.append(f.string) }
            #expect(p.type == .unsubscribe && seen == ["#"])
        }
        packet(written { MqttWriter.suback(&$0, packetId: 7, codes: raw("\u{0}\u{0}")) }) { p in
            #expect(p.type == .suback && p.payload.bytes == [0, 0])
            var filters = 0
            p.forEachFilter { _, _ in filters += 1 }  // the fuzzer's first find: codes read as filters
            #expect(filters == 0)
        }
        packet(written { MqttWriter.connack(&$0, sessionPresent: true, returnCode: 0) }) {
            #expect($0.type == .connack && $0.sessionPresent && $0.returnCode == 0)
        }
        for type in [MqttPacketType.pingreq, .pingresp, .disconnect] {
            packet(written { MqttWriter.empty(&$0, type) }) { #expect($0.type == type) }
        }
    }

    @Test func fixedFlagsAndLengthsOfTheOtherTypes() {
        #expect(malformed([0x60, 2, 0, 1]) == .badFlags)  // PUBREL without 0b0010
        #expect(malformed([0x41, 2, 0, 1]) == .badFlags)  // PUBACK with a flag
        #expect(malformed([0x80, 6, 0, 1, 0, 1, 0x61, 0]) == .badFlags)  // SUBSCRIBE without 0b0010
        #expect(malformed([0x40, 3, 0, 1, 0]) == .badLength)  // PUBACK of 3 bytes
        #expect(malformed([0x40, 2, 0, 0]) == .badPacketId)
        #expect(malformed([0xC0, 1, 0]) == .badLength)  // PINGREQ with a body
        #expect(malformed([0x20, 2, 2, 0]) == .badField)  // CONNACK reserved ack bit
        #expect(malformed([0x82, 2, 0, 1]) == .badLength)  // SUBSCRIBE without a filter
        #expect(malformed([0x82, 6, 0, 1, 0, 1, 0x61, 3]) == .badField)  // requested QoS 3
        #expect(malformed([0x82, 7, 0, 1, 0, 2, 0x61, 0x23, 0]) == .badTopic)  // "a#"
        #expect(malformed([0x90, 3, 0, 1, 3]) == .badField)  // SUBACK code 3
        #expect(malformed([0x00, 0]) == .badType)
        #expect(malformed([0xF0, 0]) == .badType)
    }

    @Test func remainingLengthForms() {
        // The boundaries of one to four bytes (§2.2.3's table), written and read back.
        for size in [0, 127, 128, 16_383, 16_384, 65_000] {
            let payload = [UInt8](repeating: 0x41, count: size)
            let bytes = payload.withUnsafeBytes { pl in
                written { MqttWriter.publish(&$0, topic: raw("t"), payload: pl, qos: 0, retain: false, dup: false, packetId: 0) }
            }
            let lengthBytes = size + 3 < 128 ? 1 : size + 3 < 16_384 ? 2 : 3
            #expect(bytes.count == 1 + lengthBytes + 3 + size)
            packet(bytes) { #expect($0.payload.count == size) }
        }
        #expect(parse([0x30, 0xFF, 0xFF, 0xFF, 0x7F]).isTooLarge)  // 268,435,455: past any board
        #expect(malformed([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]) == .badRemainingLength)  // a fifth byte
        #expect(malformed([0x30, 0x80, 0x00]) == .badRemainingLength)  // 0 in two bytes
        #expect(parse([0x30, 0x80]).isIncomplete)
        #expect(parse([0x30, 0x05, 0, 1, 0x74]).isIncomplete)  // 2 of 5 body bytes so far
        #expect(malformed([0x30, 0x0A] + [UInt8](repeating: 0, count: 10)) == .badTopic)  // whole, then checked
        #expect(parse([0x30, 20] + [UInt8](repeating: 0x41, count: 20), max: 16).isTooLarge)
    }

    @Test func topicFiltersMatchAsSection4_7Says() {
        func matches(_ f: StaticString, _ t: String) -> Bool {
            Array(t.utf8).withUnsafeBytes { MqttTopic.matches(filter: f, topic: ByteView($0)) }
        }
        #expect(matches("sport/tennis/player1/#", "sport/tennis/player1"))
        #expect(matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"))
        #expect(matches("sport/#", "sport"))
        #expect(matches("#", "a/b/c") && matches("+/+", "/finance") && matches("/+", "/finance"))
        #expect(matches("sport/+", "sport/") && !matches("sport/+", "sport"))
        #expect(matches("a/+/c", "a/b/c") && !matches("a/+/c", "a/b/d") && !matches("a/+", "a/b/c"))
        #expect(!matches("a/b", "a/bc") && !matches("a/bc", "a/b") && !matches("a/#", "ab"))
        #expect(!matches("#", "$SYS/load") && !matches("+/load", "$SYS/load") && matches("$SYS/#", "$SYS/load"))
        #expect(matches("a//b", "a//b") && matches("a/+/b", "a//b"))
        func valid(_ f: StaticString) -> Bool { MqttTopic.isValidFilter(ByteView(f.rawBuffer)) }
        #expect(valid("#") && valid("+") && valid("a/+/b/#") && valid("+/+") && valid("/"))
        #expect(!valid("a#") && !valid("a/#/b") && !valid("a+") && !valid("+a/b") && !valid(""))
    }
}

extension MqttParseResult {
    var isIncomplete: Bool { if case .incomplete = self { return true } else { return false } }
    var isTooLarge: Bool { if case .malformed(.tooLarge) = self { return true } else { return false } }
}
