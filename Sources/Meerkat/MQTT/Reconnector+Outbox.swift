/// The MQTT outbox: publishes an app makes through its `Reconnector` while the broker is
/// away are kept, in order, in fixed memory (`MqttOutbox`, sized by `Limits.mqttOutbox`
/// and `mqttOutboxBytes`), and go out after the reconnect, before anything newer. When
/// it is full the publish fails with `.full`: nothing grows, nothing is dropped unseen.
extension Reconnector {
    /// Publishes `payload` on `topic`: at once when the broker is up and nothing waits in
    /// the outbox (true); otherwise, or when the connection cannot take it now (its
    /// in-flight table or send block full, or it just closed), kept in the outbox behind
    /// the others and sent as soon as the connection takes it: after the next CONNACK,
    /// an acknowledgement or a drained send block (false).
    ///
    /// Throws `.full` when the outbox has no room for it (nothing kept; room comes as the
    /// broker takes what waits), and `.refused` for a message that could never go: a bad
    /// topic (`.invalidTopic`), a QoS other than 0, 1, 2 (`.invalidState`), or one larger
    /// than a send block, the in-flight store (QoS 1, 2) or, when it has to wait, the
    /// whole outbox (`.messageTooLarge`). An outbox message counts as sent once the connection took
    /// it: from then on it is the session's, sent again after a reconnect when the
    /// session is kept (`cleanSession: false`, QoS 1 and 2), lost with a clean session
    /// if the broker went before acknowledging it (as any publish).
    @discardableResult
    public func mqttPub(
        _ topic: String, _ payload: some ByteSource, qos: Int = 0, retain: Bool = false
    ) throws(MqttOutboxError) -> Bool {
        guard let outbox else { throw .refused(.invalidState) }  // not an MQTT reconnector
        guard (0...2).contains(qos) else { throw .refused(.invalidState) }
        return try topic.withBytes { (t) throws(MqttOutboxError) -> Bool in
            try payload.withBytes { (p) throws(MqttOutboxError) -> Bool in
                try publish(outbox, topic: t, payload: p, qos: UInt8(qos), retain: retain)
            }
        }
    }

    /// Messages waiting in the outbox.
    public var outboxCount: Int { outbox?.count ?? 0 }

    private func publish(
        _ outbox: MqttOutbox, topic: UnsafeRawBufferPointer, payload: UnsafeRawBufferPointer, qos: UInt8,
        retain: Bool
    ) throws(MqttOutboxError) -> Bool {
        do throws(ConnectionError) {
            try manager.mqttCheckPublish(topic: topic, payloadCount: payload.count, qos: qos)
        } catch {
            throw .refused(error)
        }
        // A packet larger than a send block (with a WebSocket frame's head) never goes.
        guard 5 + 2 + topic.count + 2 + payload.count + 14 <= manager.limits.sendBufferSize else {
            throw .refused(.messageTooLarge)
        }
        if outbox.count == 0, let conn = connection, conn.isMqttOpen {
            do throws(ConnectionError) {
                _ = try conn.mqttPublish(topic: topic, payload: payload, qos: qos, retain: retain)
                return true
            } catch {
                // Back-pressure or a connection that just went: it waits with the others.
            }
        }
        guard outbox.append(topic: topic, payload: payload, qos: qos, retain: retain) else {
            // More bytes than the whole outbox would never fit, however long it waited.
            throw outbox.capacity > 0 && topic.count + payload.count > outbox.storeBytes ? .refused(.messageTooLarge) : .full
        }
        return false
    }

    /// Sends what waits, oldest first, while the connection takes it (in few writes).
    func flushOutbox(_ conn: Connection) {
        guard let outbox, outbox.count > 0, conn.isMqttOpen else { return }
        conn.sendBatch {
            while let m = outbox.first {
                do throws(ConnectionError) {
                    _ = try conn.mqttPublish(topic: m.topic, payload: m.payload, qos: m.qos, retain: m.retain)
                } catch {
                    return  // full again, or closed: the next ack, write or CONNACK goes on
                }
                outbox.removeFirst()
            }
        }
    }
}

/// Why `Reconnector.mqttPub` did not take a message.
public enum MqttOutboxError: Error, Equatable {
    /// The outbox holds `Limits.mqttOutbox` messages, or lacks the bytes for this one
    /// (`Limits.mqttOutboxBytes`): nothing was kept. Room comes as the broker takes
    /// what waits (`outboxCount` goes down).
    case full
    /// The message could never be published (the connection's error says why).
    case refused(ConnectionError)
}

extension MqttOutboxError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .full: return "MQTT: the outbox is full"
        case let .refused(e): return e.description
        }
    }
}
