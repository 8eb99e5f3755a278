/// What the parser made of the bytes at the start of a buffer.
public enum MqttParseResult {
    /// Not a whole packet yet (and nothing wrong so far).
    case incomplete
    case packet(MqttPacket)
    case malformed(MqttMalformed)
}

/// The MQTT 3.1.1 packet parser: pure, bytes in and a packet of views out, no allocation.
/// Strict: the fixed flag bits of every type, minimal remaining-length encodings, exact
/// field lengths, UTF-8 topics without U+0000, wildcards only where they may be.
public enum MqttParser {
    /// The largest remaining length the encoding can carry (§2.2.3).
    static let maxRemainingLength: UInt32 = 268_435_455

    /// Parses the packet at the start of `buf`. `maxPacket` bounds the whole packet (the
    /// receiver's buffer): past it, `.tooLarge` as soon as the length is known.
    public static func parse(_ buf: UnsafeRawBufferPointer, maxPacket: Int) -> MqttParseResult {
        guard buf.count >= 2, let base = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .incomplete }
        let first = base[0]
        guard let type = MqttPacketType(rawValue: first >> 4) else { return .malformed(.badType) }
        // Remaining length: 7 bits a byte, low first, at most 4 bytes, no longer than needed.
        var remaining: UInt32 = 0
        var used = 0
        while true {
            guard 1 + used < buf.count else { return .incomplete }
            let b = base[1 + used]
            remaining |= UInt32(b & 0x7F) << (7 * UInt32(used))
            used += 1
            if b & 0x80 == 0 {
                if used > 1 && b == 0 { return .malformed(.badRemainingLength) }  // a longer form than needed
                break
            }
            if used == 4 { return .malformed(.badRemainingLength) }
        }
        let headerLength = 1 + used
        guard remaining <= UInt32(max(maxPacket - headerLength, 0)) else { return .malformed(.tooLarge) }
        let total = headerLength + Int(remaining)
        guard buf.count >= total else { return .incomplete }
        let body = ByteView(base: base + headerLength, count: Int(remaining))
        var packet = MqttPacket(type: type, flags: first & 0x0F, length: total)
        if let problem = fill(&packet, body) { return .malformed(problem) }
        return .packet(packet)
    }

    /// The flag nibble each type must carry; PUBLISH's are checked on their own.
    static func requiredFlags(_ type: MqttPacketType) -> UInt8 {
        switch type {
        case .pubrel, .subscribe, .unsubscribe: return 0b0010
        default: return 0
        }
    }

    /// Reads the variable header and payload of `packet` from `body`; the reason when
    /// they are not what its type requires.
    static func fill(_ packet: inout MqttPacket, _ body: ByteView) -> MqttMalformed? {
        if packet.type != .publish && packet.flags != requiredFlags(packet.type) { return .badFlags }
        var r = MqttFieldReader(body)
        switch packet.type {
        case .connect:
            return connect(&packet, &r)
        case .connack:
            guard body.count == 2 else { return .badLength }
            let ack = r.byte()!
            guard ack & 0xFE == 0 else { return .badField }
            packet.sessionPresent = ack & 1 != 0
            packet.returnCode = r.byte()!
        case .publish:
            let qos = (packet.flags >> 1) & 3
            guard qos < 3, qos > 0 || packet.flags & 8 == 0 else { return .badFlags }
            guard let topic = r.binary() else { return .badLength }
            guard MqttTopic.isValidName(topic) else { return .badTopic }
            packet.topic = topic
            if qos > 0 {
                guard let id = r.uint16() else { return .badLength }
                guard id != 0 else { return .badPacketId }
                packet.packetId = id
            }
            packet.payload = r.rest
            return nil
        case .puback, .pubrec, .pubrel, .pubcomp, .unsuback:
            guard body.count == 2 else { return .badLength }
            packet.packetId = r.uint16()!
            guard packet.packetId != 0 else { return .badPacketId }
        case .subscribe, .unsubscribe, .suback:
            guard let id = r.uint16() else { return .badLength }
            guard id != 0 else { return .badPacketId }
            packet.packetId = id
            packet.payload = r.rest
            guard !r.atEnd else { return .badLength }  // at least one filter or code
            return packet.type == .suback ? subackCodes(packet.payload) : filterList(packet.type, &r)
        case .pingreq, .pingresp, .disconnect:
            guard body.count == 0 else { return .badLength }
        }
        return r.atEnd ? nil : .badLength
    }

    static func connect(_ packet: inout MqttPacket, _ r: inout MqttFieldReader) -> MqttMalformed? {
        guard let name = r.binary(), let level = r.byte(), let flags = r.byte(), let keepAlive = r.uint16() else {
            return .badLength
        }
        guard name == "MQTT", level == 4, flags & 1 == 0 else { return .badField }
        let will = flags & MqttConnectFlags.will != 0
        let willQos = (flags >> MqttConnectFlags.willQosShift) & 3
        // Without a will its QoS and retain must be 0; no password without a user name.
        guard willQos < 3, will || (willQos == 0 && flags & MqttConnectFlags.willRetain == 0),
            flags & MqttConnectFlags.password == 0 || flags & MqttConnectFlags.username != 0
        else { return .badField }
        packet.connectFlags = flags
        packet.keepAlive = keepAlive
        packet.payload = r.rest
        guard let clientId = r.binary() else { return .badLength }
        guard MqttTopic.isValidString(clientId) else { return .badTopic }
        if will {
            guard let topic = r.binary(), r.binary() != nil else { return .badLength }
            guard MqttTopic.isValidName(topic) else { return .badTopic }
        }
        if flags & MqttConnectFlags.username != 0 {
            guard let user = r.binary() else { return .badLength }
            guard MqttTopic.isValidString(user) else { return .badTopic }
        }
        if flags & MqttConnectFlags.password != 0 && r.binary() == nil { return .badLength }
        return r.atEnd ? nil : .badLength
    }

    /// SUBSCRIBE: filter, QoS byte (0–2), …; UNSUBSCRIBE: filter, ….
    static func filterList(_ type: MqttPacketType, _ r: inout MqttFieldReader) -> MqttMalformed? {
        while !r.atEnd {
            guard let filter = r.binary() else { return .badLength }
            guard MqttTopic.isValidFilter(filter) else { return .badTopic }
            if type == .subscribe {
                guard let qos = r.byte() else { return .badLength }
                guard qos <= 2 else { return .badField }
            }
        }
        return nil
    }

    /// SUBACK return codes: 0, 1, 2 (granted QoS) or 0x80 (failure).
    static func subackCodes(_ codes: ByteView) -> MqttMalformed? {
        for i in 0..<codes.count where codes[i] > 2 && codes[i] != 0x80 { return .badField }
        return nil
    }
}
