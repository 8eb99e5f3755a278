import CMeerkat

/// What the broker sends: packets framed from the TCP/TLS stream (in the receive block)
/// or from WebSocket messages (gathered in the session's split buffer when one spans
/// messages), each acted on and then told to the app (`.mqttCommand`).
extension Manager {
    /// MQTT over TCP or TLS: the packets in the receive block, through the loop HTTP and
    /// WebSocket use (`whileServing`). A packet is handled only when its answer (PUBACK,
    /// PUBREC, …) can be queued, as HTTP requests are.
    func processMqtt(_ s: Int32) {
        guard let m = mqttSession(of: s) else { return }
        whileServing(s, { canQueueReply(s) }, { nextPacket(s, m) })
    }

    /// Frames, handles and consumes the packet at the start of the receive block; false
    /// when more bytes are needed or the connection is done.
    private func nextPacket(_ s: Int32, _ m: Int) -> Bool {
        let buf = UnsafeRawBufferPointer(receiveBuffer(s))
        guard let used = mqttStep(s, m, buf, maxPacket: recvPool.blockSize), used > 0 else { return false }
        consume(s, used)
        return true
    }

    /// MQTT over WebSocket: one binary message's bytes. A packet may start in one message
    /// and end in a later one (MQTT 3.1.1 §6): its start waits in the session's split
    /// buffer (`Limits.mqttSplitPacketBytes`).
    func mqttFeed(_ s: Int32, _ m: Int, _ data: ByteView) {
        var buf = data.buffer
        let split = services.mqtt.entries[m].split
        var gathered = services.mqtt.entries[m].splitCount
        if gathered > 0 {
            guard data.count <= services.mqtt.splitBytes - gathered else {
                mqttFail(s, "mqtt: a packet split across messages is too large")
                return
            }
            if data.count > 0 { (split + gathered).update(from: data.base!, count: data.count) }
            gathered += data.count
            buf = UnsafeRawBufferPointer(start: split, count: gathered)
        }
        var at = 0
        while at < buf.count {
            guard
                let used = mqttStep(
                    s, m, UnsafeRawBufferPointer(rebasing: buf[at...]),
                    maxPacket: max(recvPool.blockSize, services.mqtt.splitBytes))
            else { return }
            if used == 0 { break }
            at += used
        }
        let left = buf.count - at
        guard left <= services.mqtt.splitBytes else {
            mqttFail(s, "mqtt: a packet split across messages is too large")
            return
        }
        if left > 0 { memmove(split, buf.baseAddress! + at, left) }  // may overlap: from later in `split`
        services.mqtt.entries[m].splitCount = left
    }

    /// Frames and handles the packet at the start of `buf`: its length, 0 when it is not
    /// all here yet, nil after a failure (the connection is closing).
    func mqttStep(_ s: Int32, _ m: Int, _ buf: UnsafeRawBufferPointer, maxPacket: Int) -> Int? {
        switch MqttParser.parse(buf, maxPacket: maxPacket) {
        case .incomplete:
            return 0
        case let .malformed(why):
            mqttFail(s, why.text)
            return nil
        case let .packet(p):
            mqttHandle(s, m, p)
            guard stillServing(s) else { return nil }
            deliver(s, .mqttCommand(p))  // after it was acted on: a PUBACK's message has left the table
            return stillServing(s) ? p.length : nil
        }
    }

    private func mqttHandle(_ s: Int32, _ m: Int, _ p: MqttPacket) {
        guard services.mqtt.entries[m].isOpen || p.type == .connack else {
            mqttFail(s, "mqtt: a packet before CONNACK")
            return
        }
        switch p.type {
        case .connack: connack(s, m, p)
        case .publish: received(s, m, p)
        case .puback:
            if let k = services.mqtt.entries[m].find(p.packetId, .awaitingPuback) { services.mqtt.entries[m].remove(k) }
        case .pubrec:
            if let k = services.mqtt.entries[m].find(p.packetId, .awaitingPubrec) { services.mqtt.entries[m].outgoing[k].stage = .awaitingPubcomp }
            try? mqttSend(s, m) { MqttWriter.ack(&$0, .pubrel, packetId: p.packetId) }
        case .pubcomp:
            if let k = services.mqtt.entries[m].find(p.packetId, .awaitingPubcomp) { services.mqtt.entries[m].remove(k) }
        case .pubrel:
            services.mqtt.entries[m].released(p.packetId)
            try? mqttSend(s, m) { MqttWriter.ack(&$0, .pubcomp, packetId: p.packetId) }
        case .pingresp:
            services.mqtt.entries[m].waitingSinceMs = 0
        case .suback, .unsuback:
            break  // the app saw it in `.mqttCommand`
        case .connect, .subscribe, .unsubscribe, .pingreq, .disconnect:
            mqttFail(s, "mqtt: the broker sent a packet only a client sends")
        }
    }

    private func connack(_ s: Int32, _ m: Int, _ p: MqttPacket) {
        guard !services.mqtt.entries[m].isOpen else {
            mqttFail(s, "mqtt: a second CONNACK")
            return
        }
        services.mqtt.entries[m].waitingSinceMs = 0
        guard p.returnCode == 0 else {
            deliver(s, .mqttOpen(Int(p.returnCode)))
            mqttFail(s, Manager.refusal(p.returnCode))
            return
        }
        services.mqtt.entries[m].isOpen = true
        if p.sessionPresent {
            resendInFlight(s, m)
        } else {  // §3.2.2.2: the broker has no session, so this side drops its own
            services.mqtt.entries[m].outgoingCount = 0
            services.mqtt.entries[m].storeUsed = 0
            services.mqtt.entries[m].forgetReleasing()
        }
        deliver(s, .mqttOpen(0))
    }

    /// After a reconnect to a kept session: what was not acknowledged goes again, oldest
    /// first, PUBLISH with DUP, PUBREL as it was (§4.4), gathered into few writes.
    private func resendInFlight(_ s: Int32, _ m: Int) {
        let e = services.mqtt.entries[m]
        let batched = beginBatch(s)
        defer { if batched { endBatch(s) } }
        for k in 0..<e.outgoingCount {
            let o = e.outgoing[k]
            let sent: Void? = try? mqttSend(s, m) { w in
                if o.stage == .awaitingPubcomp {
                    MqttWriter.ack(&w, .pubrel, packetId: o.packetId)
                } else {
                    MqttWriter.publish(
                        &w, topic: e.topic(of: o), payload: e.payload(of: o), qos: o.stage == .awaitingPuback ? 1 : 2,
                        retain: o.retain, dup: true, packetId: o.packetId)
                }
            }
            if sent == nil { return }  // the rest goes after the next reconnect
        }
    }

    /// An application message: delivered (a QoS 2 DUP of one not yet released is not
    /// delivered again), then acknowledged. Every QoS 2 id can wait for its PUBREL at
    /// once (`MqttSessions.releasingWords`), so no window a broker keeps is refused.
    private func received(_ s: Int32, _ m: Int, _ p: MqttPacket) {
        let message = MqttMessage(
            topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain, dup: p.dup,
            packetId: p.packetId)
        switch p.qos {
        case 0:
            deliver(s, .mqttMessage(message))
        case 1:
            deliver(s, .mqttMessage(message))
            guard stillServing(s) else { return }
            try? mqttSend(s, m) { MqttWriter.ack(&$0, .puback, packetId: p.packetId) }
        default:
            if !services.mqtt.entries[m].isReleasing(p.packetId) {
                services.mqtt.entries[m].startReleasing(p.packetId)
                deliver(s, .mqttMessage(message))
                guard stillServing(s) else { return }
            }
            try? mqttSend(s, m) { MqttWriter.ack(&$0, .pubrec, packetId: p.packetId) }
        }
    }

    static func refusal(_ code: UInt8) -> StaticString {
        switch code {
        case 1: return "mqtt: refused: unacceptable protocol version"
        case 2: return "mqtt: refused: client identifier rejected"
        case 3: return "mqtt: refused: server unavailable"
        case 4: return "mqtt: refused: bad user name or password"
        case 5: return "mqtt: refused: not authorized"
        default: return "mqtt: refused"
        }
    }
}
