import CMeerkat

/// The WebSocket side of a connection: frames out of the receive buffer with the pure
/// codec, unmasked in place. A whole message is delivered where it lies; fragments are
/// gathered in place at the buffer's front; in streaming mode each piece goes to the app
/// as it arrives. Control frames are answered here (pong, close echo).
extension Manager {
    func processWebSocket(_ s: Int32) {
        // Fragments gathered at the buffer's front are not new input.
        whileServing(s, { slots[Int(s)].recvCount > Int(slots[Int(s)].ws.assembled) }, { nextFrame(s) })
        if slots[Int(s)].kind != .free && slots[Int(s)].recvCount == 0 { headerQueue.remove(s) }
    }

    /// Handles the frame at the front (past gathered fragments); false when more bytes
    /// are needed or the connection is done.
    private func nextFrame(_ s: Int32) -> Bool {
        guard canQueueReply(s) else { return false }
        let assembled = Int(slots[Int(s)].ws.assembled)
        let buf = receiveBuffer(s)
        let frame = buf.baseAddress!.assumingMemoryBound(to: UInt8.self) + assembled
        let available = buf.count - assembled
        if slots[Int(s)].ws.inFrame { return streamPiece(s, frame, available) }
        // A server's frames come unmasked to a client; a client's must be masked.
        switch WsFrame.parseHeader(frame, available, fromClient: slots[Int(s)].kind == .accepted) {
        case .incomplete:
            awaitMore(s)
            return false
        case let .failed(code):
            wsFail(s, code, "bad WebSocket frame")
            return false
        case let .header(h):
            if !h.isControl {
                // RFC 6455 §5.4: a continuation needs a message in progress, and a new
                // message may not start inside one.
                let inProgress = slots[Int(s)].ws.messageOpcode != 0
                guard (h.opcode == 0) == inProgress else {
                    wsFail(s, 1002, "bad fragment sequence")
                    return false
                }
                if slots[Int(s)].ws.streaming { return startStreamedFrame(s, h) }
            }
            let total = UInt64(h.headerLength) + h.payloadLength
            guard total <= UInt64(recvPool.blockSize - assembled) else {
                wsFail(s, 1009, "WebSocket message larger than the receive block")
                return false
            }
            guard UInt64(available) >= total else {
                awaitMore(s)
                return false
            }
            let payload = frame + h.headerLength
            let length = Int(h.payloadLength)
            WsFrame.unmask(payload, length, h.mask)
            if h.isControl { return controlFrame(s, h, payload, length) }
            return dataFrame(s, h, payload, length)
        }
    }

    /// A stalled frame or message keeps its block only until the request timeout (and
    /// less under pressure: see Reclaim.swift). The stamp is its first byte.
    private func awaitMore(_ s: Int32) {
        if !headerQueue.contains(s) { headerQueue.append(s, now: now) }
    }

    private func dataFrame(_ s: Int32, _ h: WsFrame.Header, _ payload: UnsafeMutablePointer<UInt8>, _ length: Int) -> Bool {
        let opcode = h.opcode == 0 ? slots[Int(s)].ws.messageOpcode : h.opcode
        if opcode == UInt8(WEBSOCKET_OP_TEXT) {
            guard slots[Int(s)].ws.utf8.feed(payload, length), !h.fin || slots[Int(s)].ws.utf8.isComplete else {
                wsFail(s, 1007, "invalid UTF-8 in a text message")
                return false
            }
        }
        let assembled = Int(slots[Int(s)].ws.assembled)
        let front = payload - h.headerLength  // where this frame starts
        if h.fin && assembled == 0 {
            // A whole message in one frame: delivered where it lies.
            endMessage(s)
            deliverMessage(
                s,
                WsMessage(
                    data: ByteView(base: payload, count: length), opcode: Int(opcode),
                    isFirst: true, isLast: true))
            guard slots[Int(s)].kind.isConnection else { return false }
            consume(s, h.headerLength + length)
            return true
        }
        // A fragment: its payload joins the earlier ones; what follows moves up.
        let after = slots[Int(s)].recvCount - assembled - h.headerLength - length
        memmove(front, payload, length)
        if after > 0 { memmove(front + length, payload + length, after) }
        slots[Int(s)].recvEnd -= Int32(h.headerLength)
        slots[Int(s)].ws.assembled += Int32(length)
        slots[Int(s)].ws.messageOpcode = opcode
        guard h.fin else {
            awaitMore(s)
            return true
        }
        let whole = Int(slots[Int(s)].ws.assembled)
        endMessage(s)
        let base = front - assembled
        deliverMessage(s, WsMessage(data: ByteView(base: base, count: whole), opcode: Int(opcode), isFirst: true, isLast: true))
        guard slots[Int(s)].kind.isConnection else { return false }
        consume(s, whole)
        return true
    }

    /// A whole message goes to the app, or, on an MQTT-over-WebSocket client, to MQTT.
    private func deliverMessage(_ s: Int32, _ message: WsMessage) {
        if slots[Int(s)].kind.isOurs, let m = mqttSession(of: s) {
            mqttFeed(s, m, message.data)
        } else {
            deliver(s, .wsMessage(message))
        }
    }

    private func endMessage(_ s: Int32) {
        slots[Int(s)].ws.assembled = 0
        slots[Int(s)].ws.messageOpcode = 0
        slots[Int(s)].ws.messageStarted = false
        slots[Int(s)].ws.utf8 = Utf8Validator()
        headerQueue.remove(s)
    }

    // MARK: Control frames

    private func controlFrame(_ s: Int32, _ h: WsFrame.Header, _ payload: UnsafeMutablePointer<UInt8>, _ length: Int) -> Bool {
        let message = WsMessage(data: ByteView(base: payload, count: length), opcode: Int(h.opcode), isFirst: true, isLast: true)
        switch Int(h.opcode) {
        case WEBSOCKET_OP_CLOSE:
            if length >= 2 {
                let code = UInt16(payload[0]) << 8 | UInt16(payload[1])
                guard WsFrame.isValidCloseCode(code) else {
                    wsFail(s, 1002, "bad close code")
                    return false
                }
                var reason = Utf8Validator()
                guard reason.feed(payload + 2, length - 2), reason.isComplete else {
                    wsFail(s, 1007, "invalid UTF-8 in a close reason")
                    return false
                }
            } else if length == 1 {
                wsFail(s, 1002, "bad close frame")
                return false
            }
            deliver(s, .wsControl(message))
            guard slots[Int(s)].kind.isConnection else { return false }
            // Echo the status code, then close the TCP connection once it is out.
            closeWebSocket(s, code: length >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil)
            return false
        case WEBSOCKET_OP_PING:
            deliver(s, .wsControl(message))
            guard slots[Int(s)].kind.isConnection else { return false }
            if slots[Int(s)].ws.takePong(nowMs: now) {
                try? sendFrame(s, opcode: UInt8(WEBSOCKET_OP_PONG), fin: true, Payload(borrowed: message.data.buffer))
            }
        default:
            deliver(s, .wsControl(message))
        }
        guard slots[Int(s)].kind.isConnection else { return false }
        removeFrame(s, at: Int(slots[Int(s)].ws.assembled), length: h.headerLength + length)
        return true
    }

    /// Drops a frame that sits behind gathered fragments (or at the front).
    private func removeFrame(_ s: Int32, at offset: Int, length: Int) {
        guard offset > 0 else {
            consume(s, length)
            return
        }
        let p = receiveBuffer(s).baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
        let after = slots[Int(s)].recvCount - offset - length
        if after > 0 { memmove(p, p + length, after) }
        slots[Int(s)].recvEnd -= Int32(length)
    }

    // MARK: Streaming mode

    private func startStreamedFrame(_ s: Int32, _ h: WsFrame.Header) -> Bool {
        consume(s, h.headerLength)
        slots[Int(s)].ws.inFrame = true
        slots[Int(s)].ws.frameRemaining = h.payloadLength
        slots[Int(s)].ws.frameMask = h.mask
        slots[Int(s)].ws.frameOffset = 0
        slots[Int(s)].ws.frameFin = h.fin
        if h.opcode != 0 { slots[Int(s)].ws.messageOpcode = h.opcode }
        headerQueue.remove(s)  // the app takes charge of the pace, as for streamed HTTP bodies
        let buf = receiveBuffer(s)
        return streamPiece(s, buf.baseAddress!.assumingMemoryBound(to: UInt8.self), buf.count)
    }

    /// Hands the app what has arrived of the current frame, unmasked in place.
    private func streamPiece(_ s: Int32, _ p: UnsafeMutablePointer<UInt8>, _ available: Int) -> Bool {
        var st = slots[Int(s)].ws
        let take = UInt64(available) < st.frameRemaining ? available : Int(st.frameRemaining)
        let frameDone = UInt64(take) == st.frameRemaining
        guard take > 0 || frameDone else { return false }
        WsFrame.unmask(p, take, st.frameMask, offset: Int(st.frameOffset))
        let last = frameDone && st.frameFin
        if st.messageOpcode == UInt8(WEBSOCKET_OP_TEXT) {
            guard st.utf8.feed(p, take), !last || st.utf8.isComplete else {
                wsFail(s, 1007, "invalid UTF-8 in a text message")
                return false
            }
        }
        let opcode = Int(st.messageOpcode)
        let first = !st.messageStarted
        st.frameRemaining -= UInt64(take)
        st.frameOffset = UInt8((Int(st.frameOffset) + take) & 3)
        st.inFrame = !frameDone
        let delivers = take > 0 || last  // an empty fragment in the middle is nothing to hand on
        if delivers { st.messageStarted = !last }
        if last {
            st.messageOpcode = 0
            st.utf8 = Utf8Validator()
        }
        slots[Int(s)].ws = st
        if delivers {
            deliver(s, .wsMessage(WsMessage(data: ByteView(base: p, count: take), opcode: opcode, isFirst: first, isLast: last)))
            guard slots[Int(s)].kind.isConnection else { return false }
        }
        consume(s, take)
        return true
    }

    // MARK: Closing

    /// A protocol error: close with `code` (1002, 1007, 1009), nothing more is read.
    func wsFail(_ s: Int32, _ code: UInt16, _ why: StaticString) {
        deliverError(s, why)
        guard slots[Int(s)].kind.isConnection else { return }
        closeWebSocket(s, code: code)
    }

    /// Queues our close frame (once), drops further input, and closes the TCP
    /// connection once the frame is out (the peer's FIN is awaited for the linger time).
    func closeWebSocket(_ s: Int32, code: UInt16?, reason: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0)) {
        if !slots[Int(s)].ws.closeSent {
            var payload:
                (
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64
                ) =
                    (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
            withUnsafeMutableBytes(of: &payload) { out in
                var n = 0
                if let code {
                    out[0] = UInt8(code >> 8)
                    out[1] = UInt8(code & 0xFF)
                    n = 2 + min(reason.count, 123)
                    if n > 2 { out.baseAddress!.advanced(by: 2).copyMemory(from: reason.baseAddress!, byteCount: n - 2) }
                }
                try? sendFrame(
                    s, opcode: UInt8(WEBSOCKET_OP_CLOSE), fin: true, Payload(borrowed: UnsafeRawBufferPointer(rebasing: out[0..<n])))
            }
            slots[Int(s)].ws.closeSent = true
        }
        slots[Int(s)].recvStart = slots[Int(s)].recvEnd
        slots[Int(s)].flags.insert(.draining)
        if !hasOutput(s) { finishDrain(s) }
    }

    // MARK: Sending

    /// Queues one frame: the header from `headScratch`, the payload copied or held as
    /// its owner allows (see HeldBody).
    func sendFrame(_ s: Int32, opcode: UInt8, fin: Bool, _ payload: Payload) throws(ConnectionError) {
        guard slots[Int(s)].kind.isConnection, slots[Int(s)].proto == .websocket else { throw .invalidState }
        guard !slots[Int(s)].ws.closeSent else { throw .closed }
        if slots[Int(s)].kind.isOurs {
            try sendMaskedFrame(s, opcode: opcode, fin: fin, payload: payload.bytes)
            return
        }
        let n = WsFrame.writeHeader(headScratch, fin: fin, opcode: opcode, length: UInt64(payload.bytes.count))
        try enqueue(s, UnsafeRawBufferPointer(start: headScratch, count: n), payload.bytes, owner: payload.owner)
    }
}
