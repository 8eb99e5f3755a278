/// The MQTT calls on a connection made by `Manager.mqttConnect` (the docs' `mqtt_pub`,
/// `mqtt_sub`, `mqtt_unsub`, `mqtt_disconnect`). Each works once `.mqttOpen(0)` came,
/// and throws `.invalidState` before that or on another kind of connection.
extension Connection {
    /// True between an accepted CONNACK and the close.
    public var isMqttOpen: Bool {
        guard let s = liveSlot, let m = manager.mqttSession(of: s) else { return false }
        return manager.services.mqtt.entries[m].isOpen
    }

    /// QoS 1 and 2 messages sent and not yet wholly acknowledged (0 on other connections).
    public var mqttInFlight: Int {
        guard let s = liveSlot, let m = manager.mqttSession(of: s) else { return 0 }
        return manager.services.mqtt.entries[m].outgoingCount
    }

    /// Publishes `payload` on `topic`; returns the packet identifier (0 for QoS 0).
    /// QoS 1 and 2 messages are kept until acknowledged (and sent again after a
    /// reconnect when the session is kept): `.inFlightFull` when there is no room for
    /// one more. `.invalidTopic` for a topic with a wildcard, U+0000, invalid UTF-8 or
    /// nothing; `.sendBufferFull` when the packet does not fit the send block now.
    @discardableResult
    public func mqttPub(
        _ topic: String, _ payload: some ByteSource, qos: Int = 0,
        retain: Bool = false
    ) throws(ConnectionError) -> UInt16 {
        guard (0...2).contains(qos) else { throw .invalidState }
        return try topic.withBytes { (t) throws(ConnectionError) -> UInt16 in
            try payload.withBytes { (bytes) throws(ConnectionError) -> UInt16 in
                try mqttPublish(topic: t, payload: bytes, qos: UInt8(qos), retain: retain)
            }
        }
    }

    /// `mqttPub` of bytes (the outbox's messages).
    func mqttPublish(
        topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8, retain: Bool
    ) throws(ConnectionError) -> UInt16 {
        let (s, m) = try mqttSlot()
        return try manager.mqttPublish(s, m, topic: topic, payload: payload, qos: qos, retain: retain)
    }

    /// Subscribes to `filter` (`+` and `#` wildcards) with the QoS asked for; returns
    /// the packet identifier the SUBACK (`.mqttCommand`) will carry.
    @discardableResult
    public func mqttSub(_ filter: String, qos: Int = 0) throws(ConnectionError) -> UInt16 {
        let (s, m) = try mqttSlot()
        guard (0...2).contains(qos) else { throw .invalidState }
        return try filter.withBytes { (f) throws(ConnectionError) -> UInt16 in
            guard MqttTopic.isValidFilter(ByteView(f)), MqttWriter.fits(f.count) else { throw .invalidTopic }
            let id = manager.services.mqtt.entries[m].nextPacketId()
            try manager.mqttSend(s, m) { MqttWriter.subscribe(&$0, packetId: id, filter: f, qos: UInt8(qos)) }
            return id
        }
    }

    @discardableResult
    public func mqttUnsub(_ filter: String) throws(ConnectionError) -> UInt16 {
        let (s, m) = try mqttSlot()
        return try filter.withBytes { (f) throws(ConnectionError) -> UInt16 in
            guard MqttTopic.isValidFilter(ByteView(f)), MqttWriter.fits(f.count) else { throw .invalidTopic }
            let id = manager.services.mqtt.entries[m].nextPacketId()
            try manager.mqttSend(s, m) { MqttWriter.unsubscribe(&$0, packetId: id, filter: f) }
            return id
        }
    }

    /// Sends DISCONNECT (so the broker drops the will) and closes once it is out.
    public func mqttDisconnect() {
        guard let (s, m) = try? mqttSlot() else { return }
        try? manager.mqttSend(s, m) { MqttWriter.empty(&$0, .disconnect) }
        drain()
    }

    private func mqttSlot() throws(ConnectionError) -> (Int32, Int) {
        let s = try openSlot()
        guard let m = manager.mqttSession(of: s) else { throw .invalidState }
        guard manager.services.mqtt.entries[m].isOpen else { throw .invalidState }
        return (s, m)
    }
}

extension Manager {
    func mqttPublish(
        _ s: Int32, _ m: Int, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer,
        qos: UInt8, retain: Bool
    ) throws(ConnectionError) -> UInt16 {
        try mqttCheckPublish(topic: topic, payloadCount: payload.count, qos: qos)
        var id: UInt16 = 0
        if qos > 0 {
            guard
                services.mqtt.entries[m].canHold(
                    topic.count + payload.count, inFlight: services.mqtt.inFlight,
                    storeBytes: services.mqtt.storeBytes)
            else { throw .inFlightFull }
            id = services.mqtt.entries[m].nextPacketId()
        }
        try mqttSend(s, m) {
            MqttWriter.publish(&$0, topic: topic, payload: payload, qos: qos, retain: retain, dup: false, packetId: id)
        }
        if qos > 0 { services.mqtt.entries[m].hold(id, qos: qos, retain: retain, topic: topic, payload: payload) }
        return id
    }

    /// Throws what would refuse this publish whatever the connection's state: a bad
    /// topic, or a QoS 1 or 2 message larger than the whole in-flight store (it could
    /// never be kept, so waiting for acknowledgements would not help).
    func mqttCheckPublish(topic: UnsafeRawBufferPointer, payloadCount: Int, qos: UInt8) throws(ConnectionError) {
        guard MqttTopic.isValidName(ByteView(topic)), MqttWriter.fits(topic.count) else { throw .invalidTopic }
        if qos > 0 && topic.count + payloadCount > services.mqtt.storeBytes { throw .messageTooLarge }
    }
}
