/// Writes MQTT 3.1.1 packets into fixed memory (a `ByteWriter`; it remembers when one
/// did not fit). Pure: the caller decides the packet identifiers and where bytes go. Field
/// lengths over 65,535 bytes are the caller's to refuse (`fits`) before writing.
enum MqttWriter {
    /// A field of this many bytes can be sent (two-byte length prefix).
    static func fits(_ field: Int) -> Bool { field <= 65_535 }

    static func fixedHeader(_ w: inout ByteWriter, _ type: MqttPacketType, flags: UInt8, remaining: Int) {
        w.append(byte: type.rawValue << 4 | flags)
        var n = remaining
        repeat {
            var b = UInt8(n & 0x7F)
            n >>= 7
            if n > 0 { b |= 0x80 }
            w.append(byte: b)
        } while n > 0
    }

    static func uint16(_ w: inout ByteWriter, _ v: UInt16) {
        w.append(byte: UInt8(v >> 8))
        w.append(byte: UInt8(v & 0xFF))
    }

    /// A two-byte length and the bytes.
    static func field(_ w: inout ByteWriter, _ bytes: UnsafeRawBufferPointer) {
        uint16(&w, UInt16(truncatingIfNeeded: bytes.count))
        w.append(bytes)
    }

    struct Will {
        var topic: UnsafeRawBufferPointer
        var message: UnsafeRawBufferPointer
        var qos: UInt8
        var retain: Bool
    }

    static func connect(
        _ w: inout ByteWriter, clientId: UnsafeRawBufferPointer, keepAlive: UInt16,
        cleanSession: Bool, will: Will?, username: UnsafeRawBufferPointer?,
        password: UnsafeRawBufferPointer?
    ) {
        var flags: UInt8 = cleanSession ? MqttConnectFlags.cleanSession : 0
        var remaining = 10 + 2 + clientId.count
        if let will {
            flags |= MqttConnectFlags.will | (will.qos & 3) << MqttConnectFlags.willQosShift
            if will.retain { flags |= MqttConnectFlags.willRetain }
            remaining += 4 + will.topic.count + will.message.count
        }
        if let username {
            flags |= MqttConnectFlags.username
            remaining += 2 + username.count
        }
        if let password {
            flags |= MqttConnectFlags.password
            remaining += 2 + password.count
        }
        fixedHeader(&w, .connect, flags: 0, remaining: remaining)
        field(&w, StaticString("MQTT").rawBuffer)
        w.append(byte: 4)
        w.append(byte: flags)
        uint16(&w, keepAlive)
        field(&w, clientId)
        if let will {
            field(&w, will.topic)
            field(&w, will.message)
        }
        if let username { field(&w, username) }
        if let password { field(&w, password) }
    }

    static func publish(
        _ w: inout ByteWriter, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
        qos: UInt8, retain: Bool, dup: Bool, packetId: UInt16
    ) {
        let flags = (dup ? 8 : 0) | (qos & 3) << 1 | (retain ? 1 : 0)
        fixedHeader(&w, .publish, flags: flags, remaining: 2 + topic.count + (qos > 0 ? 2 : 0) + payload.count)
        field(&w, topic)
        if qos > 0 { uint16(&w, packetId) }
        w.append(payload)
    }

    /// PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK: the identifier alone.
    static func ack(_ w: inout ByteWriter, _ type: MqttPacketType, packetId: UInt16) {
        fixedHeader(&w, type, flags: MqttParser.requiredFlags(type), remaining: 2)
        uint16(&w, packetId)
    }

    static func subscribe(_ w: inout ByteWriter, packetId: UInt16, filter: UnsafeRawBufferPointer, qos: UInt8) {
        fixedHeader(&w, .subscribe, flags: 0b0010, remaining: 2 + 2 + filter.count + 1)
        uint16(&w, packetId)
        field(&w, filter)
        w.append(byte: qos)
    }

    static func unsubscribe(_ w: inout ByteWriter, packetId: UInt16, filter: UnsafeRawBufferPointer) {
        fixedHeader(&w, .unsubscribe, flags: 0b0010, remaining: 2 + 2 + filter.count)
        uint16(&w, packetId)
        field(&w, filter)
    }

    /// PINGREQ, PINGRESP, DISCONNECT.
    static func empty(_ w: inout ByteWriter, _ type: MqttPacketType) {
        fixedHeader(&w, type, flags: 0, remaining: 0)
    }

    /// The broker's side, for tests and a future listener.
    static func connack(_ w: inout ByteWriter, sessionPresent: Bool, returnCode: UInt8) {
        fixedHeader(&w, .connack, flags: 0, remaining: 2)
        w.append(byte: sessionPresent ? 1 : 0)
        w.append(byte: returnCode)
    }

    static func suback(_ w: inout ByteWriter, packetId: UInt16, codes: UnsafeRawBufferPointer) {
        fixedHeader(&w, .suback, flags: 0, remaining: 2 + codes.count)
        uint16(&w, packetId)
        w.append(codes)
    }
}
