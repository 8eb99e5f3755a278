import CMeerkat

/// The MQTT client's options (the docs' `mqtt_connect` opts).
public struct MqttOpts {
    /// Empty: "meerkat-" and 8 random hex digits, made once per session.
    public var clientId: String
    public var username: String?
    public var password: String?
    /// Seconds; a PINGREQ goes out when nothing else was sent for this long, and a broker
    /// that does not answer within as long again is dropped. 0: no keep-alive.
    public var keepAlive: Int
    /// Off: the broker and this side keep the session (subscriptions, messages in flight)
    /// across connections, and unacknowledged messages are sent again, with DUP, after a
    /// reconnect with the same client id.
    public var cleanSession: Bool
    public var will: MqttWill?
    /// For mqtts:// and wss:// (default: the system's CAs).
    public var tls: TlsOpts?

    public init(
        clientId: String = "", username: String? = nil, password: String? = nil, keepAlive: Int = 60,
        cleanSession: Bool = true, will: MqttWill? = nil, tls: TlsOpts? = nil
    ) {
        self.clientId = clientId
        self.username = username
        self.password = password
        self.keepAlive = keepAlive
        self.cleanSession = cleanSession
        self.will = will
        self.tls = tls
    }
}

extension MqttOpts {
    /// "meerkat-" and 8 hex digits from the random source: what an empty `clientId`
    /// becomes (an app that reconnects with a kept session makes one once and keeps it).
    public static func randomClientId() -> String {
        var bits: UInt32 = 0
        _ = withUnsafeMutableBytes(of: &bits) { mk_random($0.baseAddress, 4) }
        let digits: StaticString = "0123456789abcdef"
        var id = "meerkat-"
        for k in 0..<8 {
            id.append(Character(Unicode.Scalar(digits.utf8Start[Int(bits >> (28 - 4 * UInt32(k)) & 15)])))
        }
        return id
    }
}

/// The message the broker publishes for a client that goes away without DISCONNECT.
public struct MqttWill {
    public var topic: String
    public var message: [UInt8]
    public var qos: UInt8
    public var retain: Bool

    public init(topic: String, message: [UInt8], qos: UInt8 = 0, retain: Bool = false) {
        self.topic = topic
        self.message = message
        self.qos = qos
        self.retain = retain
    }
}

/// A received application message (`.mqttMessage`); the views are valid during the call.
public struct MqttMessage {
    public let topic: ByteView
    public let payload: ByteView
    public let qos: UInt8
    public let retain: Bool
    public let dup: Bool
    public let packetId: UInt16
}
