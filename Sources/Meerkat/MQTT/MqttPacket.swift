/// MQTT 3.1.1 control packet types (OASIS MQTT 3.1.1 §2.2.1), the number in the first
/// byte's high nibble.
public enum MqttPacketType: UInt8 {
    case connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp
    case subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect
}

/// Why bytes are not an MQTT 3.1.1 packet. Each ends the connection (§4.8: a malformed
/// packet closes the network connection), and the reason goes to the app in `.error`.
public enum MqttMalformed: UInt8, Equatable {
    /// The remaining length runs past four bytes, or is longer than it needs to be.
    case badRemainingLength
    /// Type 0 or 15.
    case badType
    /// Flag bits the type fixes (§2.2.2) are wrong, or QoS 3, or DUP on QoS 0.
    case badFlags
    /// More bytes than the receiver can hold (`Limits.mqttPacketSize`).
    case tooLarge
    /// A field runs past the packet, or bytes are left over after the last one.
    case badLength
    /// A topic or string that is not UTF-8, holds U+0000, or is empty where it may not be;
    /// a wildcard in a published topic; a filter whose wildcards are misplaced.
    case badTopic
    /// Packet identifier 0 where one is needed.
    case badPacketId
    /// CONNECT with another protocol name or level, reserved bits set, or flags that
    /// contradict each other; CONNACK with reserved bits; a SUBSCRIBE QoS byte over 2.
    case badField

    /// Words for `.error` and logs (Embedded Swift has no reflection to name a case).
    public var text: StaticString {
        switch self {
        case .badRemainingLength: return "mqtt: bad remaining length"
        case .badType: return "mqtt: bad packet type"
        case .badFlags: return "mqtt: bad flags"
        case .tooLarge: return "mqtt: packet too large"
        case .badLength: return "mqtt: fields do not fit the length"
        case .badTopic: return "mqtt: bad topic or string"
        case .badPacketId: return "mqtt: packet identifier 0"
        case .badField: return "mqtt: bad field"
        }
    }
}

/// One parsed packet: the fixed header's facts and views of its fields, into the bytes it
/// was parsed from (valid as long as they are). Which fields mean something depends on
/// `type`; the others are zero or empty.
public struct MqttPacket {
    public let type: MqttPacketType
    /// The low nibble of the first byte: DUP, QoS and RETAIN for PUBLISH.
    public let flags: UInt8
    /// Bytes on the wire: fixed header and remaining length.
    public let length: Int
    /// PUBLISH (QoS 1, 2), PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK,
    /// UNSUBSCRIBE, UNSUBACK.
    public var packetId: UInt16 = 0
    /// PUBLISH: the topic name.
    public var topic = ByteView.empty
    /// PUBLISH: the application message. SUBACK: one return code a filter. SUBSCRIBE and
    /// UNSUBSCRIBE: the filter list (read it with `forEachFilter`). CONNECT: the payload
    /// (client id, will, user name, password; read them with `connectFields`).
    public var payload = ByteView.empty
    /// CONNACK: the return code (0 accepted, 1–5 refused) and the session-present flag.
    public var returnCode: UInt8 = 0
    public var sessionPresent = false
    /// CONNECT: the connect flags byte and the keep-alive in seconds.
    public var connectFlags: UInt8 = 0
    public var keepAlive: UInt16 = 0

    init(type: MqttPacketType, flags: UInt8, length: Int) {
        self.type = type
        self.flags = flags
        self.length = length
    }

    public var qos: UInt8 { type == .publish ? (flags >> 1) & 3 : 0 }
    public var retain: Bool { type == .publish && flags & 1 != 0 }
    public var dup: Bool { type == .publish && flags & 8 != 0 }

    /// SUBSCRIBE: each filter and its requested QoS; UNSUBSCRIBE: each filter (QoS 0).
    /// The parser checked the list, so every entry is well-formed.
    /// Other packets have none.
    public func forEachFilter(_ body: (ByteView, UInt8) -> Void) {
        guard type == .subscribe || type == .unsubscribe else { return }
        var r = MqttFieldReader(payload)
        while !r.atEnd {
            guard let filter = r.string() else { return }
            let qos: UInt8 = type == .subscribe ? (r.byte() ?? 0) : 0
            body(filter, qos)
        }
    }

    /// CONNECT's payload fields: client id, will topic and message, user name, password
    /// (empty when the flags leave them out).
    public struct ConnectFields {
        public var clientId = ByteView.empty
        public var willTopic = ByteView.empty
        public var willMessage = ByteView.empty
        public var username = ByteView.empty
        public var password = ByteView.empty
    }

    public var connectFields: ConnectFields {
        var f = ConnectFields()
        guard type == .connect else { return f }
        var r = MqttFieldReader(payload)
        f.clientId = r.string() ?? .empty
        if connectFlags & MqttConnectFlags.will != 0 {
            f.willTopic = r.string() ?? .empty
            f.willMessage = r.binary() ?? .empty
        }
        if connectFlags & MqttConnectFlags.username != 0 { f.username = r.string() ?? .empty }
        if connectFlags & MqttConnectFlags.password != 0 { f.password = r.binary() ?? .empty }
        return f
    }
}

/// CONNECT's flag bits (§3.1.2.3).
enum MqttConnectFlags {
    static let cleanSession: UInt8 = 0x02
    static let will: UInt8 = 0x04
    static let willQosShift: UInt8 = 3
    static let willRetain: UInt8 = 0x20
    static let password: UInt8 = 0x40
    static let username: UInt8 = 0x80
}

/// Reads MQTT's field encodings from a view, front to back; nil when a field runs past
/// the end.
struct MqttFieldReader {
    private let view: ByteView
    private(set) var offset = 0

    init(_ view: ByteView) { self.view = view }

    var atEnd: Bool { offset == view.count }
    var rest: ByteView { view.slice(offset, view.count) }

    mutating func byte() -> UInt8? {
        guard offset < view.count else { return nil }
        offset += 1
        return view[offset - 1]
    }

    mutating func uint16() -> UInt16? {
        guard view.count - offset >= 2 else { return nil }
        offset += 2
        return UInt16(view[offset - 2]) << 8 | UInt16(view[offset - 1])
    }

    /// Two-byte length, then that many bytes (binary data, §1.5.3's length prefix).
    mutating func binary() -> ByteView? {
        guard let n = uint16(), view.count - offset >= Int(n) else { return nil }
        offset += Int(n)
        return view.slice(offset - Int(n), offset)
    }

    /// A UTF-8 encoded string (§1.5.3): valid UTF-8 without U+0000.
    mutating func string() -> ByteView? {
        guard let s = binary(), MqttTopic.isValidString(s) else { return nil }
        return s
    }
}
