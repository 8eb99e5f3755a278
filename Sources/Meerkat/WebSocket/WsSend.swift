/// Sending on a WebSocket (the docs' `ws_send`), closing it, and streaming mode.
extension Connection {
    /// Sends one message (`op`: `WEBSOCKET_OP_TEXT`, `_BINARY`, `_PING`, `_PONG`).
    /// Throws `.closed` when the connection is closed or closing (the guide's broadcast
    /// loop catches exactly this), `.sendBufferFull` under back-pressure. The payload is
    /// copied, so it must fit the send block with its header; the overloads for
    /// `StaticString`, `[UInt8]` and a `ByteView` of the receive buffer (an echo of
    /// `wm.data`) send any size from where it is.
    public func wsSend(_ data: some ByteSource, _ op: Int = WEBSOCKET_OP_TEXT) throws(ConnectionError) {
        let s = try openSlot()
        try Payload.lending(data) { (p) throws(ConnectionError) in try manager.sendMessage(s, op, p) }
    }

    public func wsSend(_ data: StaticString, _ op: Int = WEBSOCKET_OP_TEXT) throws(ConnectionError) {
        try manager.sendMessage(try openSlot(), op, Payload(data))
    }

    public func wsSend(_ data: [UInt8], _ op: Int = WEBSOCKET_OP_TEXT) throws(ConnectionError) {
        try manager.sendMessage(try openSlot(), op, Payload(data))
    }

    public func wsSend(_ data: ByteView, _ op: Int = WEBSOCKET_OP_TEXT) throws(ConnectionError) {
        let s = try openSlot()
        try manager.sendMessage(s, op, manager.payload(data, in: s))
    }

    /// Sends a piece of a message as a fragment: `first` carries the opcode, `last` the
    /// FIN bit. With `wsStreamMessages()`, an app relays a message of any size piece by
    /// piece: `conn.wsSendFragment(wm.data, opcode: wm.opcode, first: wm.isFirst, last: wm.isLast)`.
    public func wsSendFragment(_ data: ByteView, opcode: Int, first: Bool, last: Bool) throws(ConnectionError) {
        let s = try openSlot()
        guard opcode == WEBSOCKET_OP_TEXT || opcode == WEBSOCKET_OP_BINARY else { throw .invalidState }
        try manager.sendFrame(s, opcode: first ? UInt8(opcode) : 0, fin: last, manager.payload(data, in: s))
    }

    /// Pings the peer (its pong arrives as `.wsControl`).
    public func wsPing(_ data: StaticString = "") throws(ConnectionError) {
        try manager.sendMessage(try openSlot(), WEBSOCKET_OP_PING, Payload(data))
    }

    /// Starts the closing handshake with `code` (1000: normal) and a short `reason`; the
    /// TCP connection closes once the frame is out and the peer has answered (or after
    /// the linger timeout).
    public func wsClose(code: Int = 1000, reason: StaticString = "") {
        guard let s = liveSlot, manager.slots[Int(s)].proto == .websocket, !isClosing else { return }
        manager.closeWebSocket(s, code: UInt16(truncatingIfNeeded: code), reason: reason.rawBuffer)
    }

    /// From now on `.wsMessage` brings messages in pieces as they arrive (`wm.isFirst`,
    /// `wm.isLast`), so a message of any size passes through the fixed receive block.
    /// Call it in `.wsOpen`.
    public func wsStreamMessages() {
        guard let s = liveSlot else { return }
        manager.slots[Int(s)].ws.streaming = true
    }
}

extension Manager {
    func sendMessage(_ s: Int32, _ op: Int, _ payload: Payload) throws(ConnectionError) {
        switch op {
        case WEBSOCKET_OP_TEXT, WEBSOCKET_OP_BINARY: break
        case WEBSOCKET_OP_PING, WEBSOCKET_OP_PONG: guard payload.bytes.count <= 125 else { throw .invalidState }
        default: throw .invalidState  // close: wsClose; continuation: wsSendFragment
        }
        try sendFrame(s, opcode: UInt8(op), fin: true, payload)
    }
}
