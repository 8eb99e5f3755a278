import CMeerkat

/// The client's side of the WebSocket handshake (RFC 6455 §4.1): an upgrade request with
/// a fresh random key, and a 101 answer checked for Upgrade, Connection, the
/// Sec-WebSocket-Accept the key calls for, a subprotocol among those offered, and no
/// extension (none is offered). Then the connection runs the same frame code as the
/// server side, masking what it sends.
extension Manager {
    func sendUpgradeRequest(_ s: Int32) {
        let e = Int(slots[Int(s)].client)
        var key = (UInt64(0), UInt64(0))
        var keyText = (UInt64(0), UInt64(0), UInt64(0))  // 24 characters
        let made = withUnsafeMutableBytes(of: &key) { raw in
            mk_random(raw.baseAddress, 16) == 0
                && withUnsafeMutableBytes(of: &keyText) { Base64.encode(UnsafeRawBufferPointer(raw), into: $0) } == 24
        }
        let accepted =
            made
            && withUnsafeMutableBytes(of: &services.clients.entries[e].accept) { accept in
                withUnsafeBytes(of: &keyText) { WsAcceptKey.make(key: $0, into: accept) }
            }
        guard accepted else {
            deliverError(s, "WebSocket: no random source for the key")
            scheduleClose(s)
            return
        }
        var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
        w.append("GET ")
        w.append(string: services.clients.entries[e].path)
        w.append(" HTTP/1.1\r\nHost: ")
        appendHostHeader(&w, e)
        w.append("\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ")
        withUnsafeBytes(of: &keyText) { w.append(UnsafeRawBufferPointer(rebasing: $0[0..<24])) }
        w.append("\r\n")
        if !services.clients.entries[e].protocols.isEmpty {
            w.append("Sec-WebSocket-Protocol: ")
            w.append(string: services.clients.entries[e].protocols)
            w.append("\r\n")
        }
        w.append("\r\n")
        guard !w.overflowed, (try? enqueue(s, w.written, UnsafeRawBufferPointer(start: nil, count: 0))) != nil else {
            deliverError(s, "WebSocket: cannot send the upgrade request")
            scheduleClose(s)
            return
        }
        headerQueue.append(s, now: now)  // the answer must come within the request timeout
    }

    /// "host" or "host:port" (the port when it is not the scheme's default).
    func appendHostHeader(_ w: inout ByteWriter, _ e: Int) {
        let host = services.clients.entries[e].host
        if host.utf8.contains(UInt8(ascii: ":")) {
            w.append(byte: UInt8(ascii: "["))
            w.append(string: host)
            w.append(byte: UInt8(ascii: "]"))
        } else {
            w.append(string: host)
        }
        let port = services.clients.entries[e].port
        let secure = services.clients.entries[e].tlsConfig >= 0
        if port != (secure ? 443 : 80) {
            w.append(byte: UInt8(ascii: ":"))
            w.append(decimal: port)
        }
    }

    /// Checks the server's answer to the upgrade; nil when it is a good 101, else why not.
    func upgradeFailure(_ hm: HttpMessage, _ e: Int) -> StaticString? {
        guard hm.status == 101 else { return "WebSocket: the server did not switch protocols (no 101)" }
        guard hm.header("Upgrade")?.containsToken("websocket") == true else { return "WebSocket: 101 without Upgrade: websocket" }
        guard hm.header("Connection")?.containsToken("upgrade") == true else { return "WebSocket: 101 without Connection: Upgrade" }
        guard hm.headerCount("Sec-WebSocket-Accept") == 1, let accept = hm.header("Sec-WebSocket-Accept")?.trimmingSpaces(),
            accept.count == 28,
            withUnsafeBytes(of: &services.clients.entries[e].accept, { accept.equals(UnsafeRawBufferPointer(rebasing: $0[0..<28])) })
        else { return "WebSocket: wrong Sec-WebSocket-Accept" }
        // RFC 6455 §4.1: an extension or subprotocol the client did not offer fails the
        // connection. This client offers no extension, so any is one it did not offer.
        guard hm.headerCount("Sec-WebSocket-Extensions") == 0 else {
            return "WebSocket: the server chose an extension we did not offer"
        }
        // One subprotocol, in one line (§11.3.4), from our list.
        guard hm.headerCount("Sec-WebSocket-Protocol") <= 1 else {
            return "WebSocket: the server chose a subprotocol we did not offer"
        }
        if let chosen = hm.header("Sec-WebSocket-Protocol") {
            var offered = false
            var list = services.clients.entries[e].protocols
            list.withUTF8 { all in
                var start = 0
                let v = ByteView(UnsafeRawBufferPointer(all))
                while start < v.count {
                    let end = v.firstIndex(of: UInt8(ascii: ","), from: start) ?? v.count
                    if v.slice(start, end).trimmingSpaces().equals(chosen.trimmingSpaces().buffer) { offered = true }
                    start = end + 1
                }
            }
            guard offered else { return "WebSocket: the server chose a subprotocol we did not offer" }
        }
        return nil
    }

    /// Queues a client's frame: masked with a fresh random key (RFC 6455 §5.3), so the
    /// payload is copied (masked) and must fit a send block with its header.
    func sendMaskedFrame(_ s: Int32, opcode: UInt8, fin: Bool, payload: UnsafeRawBufferPointer) throws(ConnectionError) {
        let n = WsFrame.writeHeader(headScratch, fin: fin, opcode: opcode, length: UInt64(payload.count))
        headScratch[1] |= 0x80
        guard n + 4 + payload.count <= limits.sendBufferSize else { throw .sendBufferFull }
        var mask: UInt32 = 0
        guard withUnsafeMutableBytes(of: &mask, { mk_random($0.baseAddress, 4) }) == 0 else { throw .closed }
        withUnsafeBytes(of: &mask) { (headScratch + n).update(from: $0.baseAddress!.assumingMemoryBound(to: UInt8.self), count: 4) }
        if payload.count > 0 {
            services.maskScratch.update(from: payload.baseAddress!.assumingMemoryBound(to: UInt8.self), count: payload.count)
            WsFrame.unmask(services.maskScratch, payload.count, (headScratch[n], headScratch[n + 1], headScratch[n + 2], headScratch[n + 3]))
        }
        try enqueue(
            s, UnsafeRawBufferPointer(start: headScratch, count: n + 4),
            UnsafeRawBufferPointer(start: services.maskScratch, count: payload.count))
    }
}

extension ByteWriter {
    mutating func append(string: String) {
        var text = string
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }
}
