/// Where the loop meets the protocols: input goes to the slot's protocol (HTTP or
/// WebSocket; raw TCP handlers read the buffer themselves), and the flow control they
/// share: a request or message is delivered only when its answer can be queued.
extension Manager {
    /// Handles whatever complete input the slot's receive buffer holds (MQTT over
    /// WebSocket arrives through the WebSocket layer, MQTT/WebSocketFeed.swift).
    func processInput(_ s: Int32) {
        switch slots[Int(s)].proto {
        case .tcp: return  // the handler got `.read` and reads the buffer itself
        case .http: processHTTP(s)
        case .websocket: processWebSocket(s)
        case .mqtt: processMqtt(s)
        }
    }

    /// Whether `bytes`, the start of what `s`'s peer has sent and nothing has read yet,
    /// hold a whole unit its protocol can act on: a request head, a frame, a packet, a
    /// TLS record. (Reclaim uses it to tell a ready peer from one trickling halves.)
    func holdsWholeUnit(_ s: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        if slots[Int(s)].tls.phase != .none { return TlsState.holdsWholeRecord(bytes) }
        switch slots[Int(s)].proto {
        case .tcp: return true  // the app's own protocol: any bytes may be a unit
        case .http: return HttpParser.holdsWholeHead(bytes)
        case .websocket: return WsFrame.holdsWholeFrame(bytes)
        case .mqtt:
            if case .incomplete = MqttParser.parse(bytes, maxPacket: bytes.count) { return false }
            return true
        }
    }

    /// The bytes in the slot's receive block that the protocol has not consumed.
    func receiveBuffer(_ s: Int32) -> UnsafeMutableRawBufferPointer {
        let base = recvPool.pointer(slots[Int(s)].recvBlock) + Int(slots[Int(s)].recvStart)
        return UnsafeMutableRawBufferPointer(start: base, count: slots[Int(s)].recvCount)
    }

    /// Drops the first `count` bytes (the protocol has handled them).
    func consume(_ s: Int32, _ count: Int) {
        slots[Int(s)].recvStart += Int32(count)
    }

    /// Flow control: input is delivered only when an answer to it can be queued. Nothing
    /// of this connection's may still wait to be sent (so answers stay in order and one
    /// never fails because earlier ones fill the block), and a send block must be free
    /// or reclaimable. Otherwise the input waits: for the flush (`outputDrained`), or in
    /// `sendWaiters` for a block. While it waits, the request timeout does not run: the
    /// wait is ours, not the client's (a peer that does not read is `sendQueue`'s
    /// business).
    func canQueueReply(_ s: Int32) -> Bool {
        if !hasOutput(s) {
            if slots[Int(s)].sendBlock >= 0 || reclaim(.send, for: s) { return true }
            sendWaiters.append(s, now: now)
        }
        headerQueue.remove(s)
        return false
    }

    /// Everything queued went out: input held back behind it may go on.
    func outputDrained(_ s: Int32) {
        guard slots[Int(s)].proto != .tcp, slots[Int(s)].recvCount > 0,
            !slots[Int(s)].flags.contains(.awaitingReply)
        else { return }
        resumeQueue.append(s, now: now)
    }

    /// Input held back (a late reply, a flush, a send block) goes on at the end of a poll.
    func resumePending() {
        while resumeQueue.first >= 0 {
            let s = resumeQueue.first
            resumeQueue.remove(s)
            processInput(s)
            releaseEmptyBuffers(s)
            resumeReadingIfRoom(s)
            // TLS input mbedTLS already holds: no readiness event will come for it.
            if tlsHasBufferedInput(s) && slots[Int(s)].interest.contains(.read) { readAll(s) }
        }
    }
}
