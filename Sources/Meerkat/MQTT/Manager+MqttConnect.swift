import CMeerkat

/// The MQTT client's life: connect (over TCP, TLS or WebSocket), CONNECT once the
/// transport is up, keep-alive, and what happens to the session when the connection ends.
extension Manager {
    /// Connects to an MQTT 3.1.1 broker (the docs' `mqtt_connect`): `mqtt://host[:1883]`,
    /// `mqtts://host[:8883]`, or `ws://`/`wss://host/path` (MQTT over WebSocket,
    /// subprotocol "mqtt"). The handler gets the client events (`.open`, `.resolve`,
    /// `.connect`, …), then `.mqttCommand` for every packet from the broker and
    /// `.mqttOpen` on its CONNACK; publish and subscribe after that (`conn.mqttPub`,
    /// `conn.mqttSub`). Throws `.tableFull` when every session entry
    /// (`Limits.mqttSessions`) serves a connection.
    @discardableResult
    public func mqttConnect(
        _ url: String, opts: MqttOpts = MqttOpts(),
        handler: Handler? = nil
    ) throws(ConnectError) -> Connection {
        guard let parsed = EndpointURL(url) else { throw .badURL }
        let overWebSocket = parsed.scheme == .ws || parsed.scheme == .wss
        guard overWebSocket || parsed.scheme == .mqtt || parsed.scheme == .mqtts else { throw .badURL }
        guard let m = services.mqtt.take(clientId: opts.clientId) else { throw .tableFull }
        let kept = services.mqtt.entries[m].slot < 0 && !opts.clientId.isEmpty && services.mqtt.entries[m].opts.clientId == opts.clientId
        if kept && opts.cleanSession { services.mqtt.reset(m) }  // a clean session starts from nothing
        services.mqtt.entries[m].inUse = true
        var o = opts
        if o.clientId.isEmpty { o.clientId = MqttOpts.randomClientId() }
        let conn: Connection
        do throws(ConnectError) {
            conn = try connect(url, tls: o.tls, protocols: overWebSocket ? "mqtt" : nil, handler: handler)
        } catch {
            if !kept { services.mqtt.reset(m) }
            throw error
        }
        guard let s = live(conn), slots[Int(s)].kind.isOurs else {  // failed at once (.error, .close)
            if !kept { services.mqtt.reset(m) }
            return conn
        }
        services.mqtt.entries[m].slot = s
        services.mqtt.connected += 1
        services.mqtt.entries[m].opts = o
        services.mqtt.entries[m].isOpen = false
        services.mqtt.entries[m].overWebSocket = overWebSocket
        services.mqtt.entries[m].splitCount = 0
        services.mqtt.entries[m].waitingSinceMs = 0
        services.clients.entries[Int(slots[Int(s)].client)].mqtt = Int16(m)
        if !overWebSocket { slots[Int(s)].proto = .mqtt }
        return conn
    }

    /// The session a connection carries, if any.
    func mqttSession(of s: Int32) -> Int? {
        let e = slots[Int(s)].client
        guard e >= 0 else { return nil }
        let m = services.clients.entries[Int(e)].mqtt
        return m >= 0 ? Int(m) : nil
    }

    /// TCP and TLS are up (or the WebSocket is open): CONNECT goes out, and the wait for
    /// CONNACK starts.
    func mqttTransportUp(_ s: Int32) {
        guard let m = mqttSession(of: s) else { return }
        let o = services.mqtt.entries[m].opts
        // The fields, one after another in one array (made once per connect).
        let clientId = Array(o.clientId.utf8), willTopic = o.will.map { Array($0.topic.utf8) } ?? []
        let willMessage = o.will?.message ?? [], user = o.username.map { Array($0.utf8) } ?? []
        let password = o.password.map { Array($0.utf8) } ?? []
        let lengths = [clientId.count, willTopic.count, willMessage.count, user.count, password.count]
        guard lengths.allSatisfy(MqttWriter.fits) else {
            mqttFail(s, "mqtt: a CONNECT field is over 65,535 bytes")
            return
        }
        let joined = clientId + willTopic + willMessage + user + password
        do throws(ConnectionError) {
            try mqttSend(s, m) { w in
                joined.withUnsafeBytes { all in
                    var at = 0
                    func next(_ n: Int) -> UnsafeRawBufferPointer {
                        at += n
                        return UnsafeRawBufferPointer(rebasing: all[(at - n)..<at])
                    }
                    let id = next(clientId.count), topic = next(willTopic.count), message = next(willMessage.count)
                    let u = next(user.count), p = next(password.count)
                    let will = o.will.map { MqttWriter.Will(topic: topic, message: message, qos: min($0.qos, 2), retain: $0.retain) }
                    MqttWriter.connect(
                        &w, clientId: id, keepAlive: UInt16(clamping: max(o.keepAlive, 0)),
                        cleanSession: o.cleanSession, will: will,
                        username: o.username == nil ? nil : u, password: o.password == nil ? nil : p)
                }
            }
        } catch {
            mqttFail(s, "mqtt: CONNECT does not fit the send block")
            return
        }
        services.mqtt.entries[m].waitingSinceMs = now
    }

    /// The connection ends: a clean session is forgotten; a kept one stays, with its
    /// messages in flight, for the next `mqttConnect` with the same client id.
    func mqttEnd(_ s: Int32) {
        guard let m = mqttSession(of: s) else { return }
        if services.mqtt.entries[m].slot >= 0 { services.mqtt.connected -= 1 }
        if services.mqtt.entries[m].opts.cleanSession {
            services.mqtt.reset(m)
        } else {
            services.mqtt.entries[m].slot = -1
            services.mqtt.entries[m].isOpen = false
            services.mqtt.entries[m].splitCount = 0
            services.mqtt.entries[m].waitingSinceMs = 0
            services.mqtt.entries[m].keptSinceMs = now
        }
    }

    /// A protocol failure: the app hears why, and the connection closes (§4.8).
    func mqttFail(_ s: Int32, _ why: StaticString) {
        deliverError(s, why)
        scheduleClose(s)
    }

    /// How long an answer (CONNACK, PINGRESP) may take.
    private func answerTimeout(_ m: Int) -> Int64 {
        let e = services.mqtt.entries[m]
        return e.isOpen ? Int64(max(e.opts.keepAlive, 1)) * 1000 : Int64(limits.connectTimeoutMs)
    }

    /// Keep-alive: PINGREQ after `keepAlive` seconds without sending; a broker that
    /// leaves CONNACK or PINGRESP unanswered in time is dropped (`.error`, then `.close`).
    func expireMqtt() {
        guard services.mqtt.connected > 0 else { return }
        for m in 0..<services.mqtt.capacity where services.mqtt.entries[m].inUse && services.mqtt.entries[m].slot >= 0 {
            let s = services.mqtt.entries[m].slot, e = services.mqtt.entries[m]
            guard stillServing(s) else { continue }
            if e.waitingSinceMs > 0 {
                if now - e.waitingSinceMs >= answerTimeout(m) {
                    mqttFail(s, e.isOpen ? "mqtt: no PINGRESP in time" : "mqtt: no CONNACK in time")
                }
            } else if e.isOpen && e.opts.keepAlive > 0 && now - e.lastSentMs >= Int64(e.opts.keepAlive) * 1000 {
                if (try? mqttSend(s, m) { MqttWriter.empty(&$0, .pingreq) }) != nil {
                    services.mqtt.entries[m].waitingSinceMs = now
                }
            }
        }
    }

    /// When `expireMqtt` next has something to do.
    var mqttDue: Int64 {
        var due = Int64.max
        guard services.mqtt.connected > 0 else { return due }
        for m in 0..<services.mqtt.capacity where services.mqtt.entries[m].inUse && services.mqtt.entries[m].slot >= 0 {
            let e = services.mqtt.entries[m]
            if e.waitingSinceMs > 0 {
                due = min(due, e.waitingSinceMs + answerTimeout(m))
            } else if e.isOpen && e.opts.keepAlive > 0 {
                due = min(due, e.lastSentMs + Int64(e.opts.keepAlive) * 1000)
            }
        }
        return due
    }

    /// Writes one packet with `build` and queues it on the session's transport (a binary
    /// WebSocket message, or the TCP/TLS stream). Throws `.sendBufferFull` when it does
    /// not fit now.
    func mqttSend(_ s: Int32, _ m: Int, _ build: (inout ByteWriter) -> Void) throws(ConnectionError) {
        var w = ByteWriter(base: services.mqtt.scratch, capacity: limits.sendBufferSize)
        build(&w)
        guard !w.overflowed else { throw .sendBufferFull }
        if services.mqtt.entries[m].overWebSocket {
            try sendFrame(s, opcode: UInt8(WEBSOCKET_OP_BINARY), fin: true, Payload(borrowed: w.written))
        } else {
            try enqueue(s, w.written, UnsafeRawBufferPointer(start: nil, count: 0))
        }
        services.mqtt.entries[m].lastSentMs = now
    }
}
