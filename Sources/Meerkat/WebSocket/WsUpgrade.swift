import CMeerkat

/// The opening handshake (RFC 6455 §4.2): the docs' `ws_upgrade`.
extension Connection {
    /// Answers the request `hm` (from `.httpMessage`) with `101 Switching Protocols` and
    /// makes this connection a WebSocket; `.wsOpen(hm)` follows once the handler returns.
    /// `protocols`: the subprotocols the app speaks; the first the client offers in
    /// `Sec-WebSocket-Protocol` is chosen (never the client's whole list). `headers` are
    /// added to the 101. A request that is not a valid upgrade gets 400 (426 with
    /// `Sec-WebSocket-Version: 13` for another version) and stays HTTP. Returns whether
    /// the connection is now a WebSocket. A browser's upgrade from another origin (its
    /// `Origin` is neither the request's own nor on `manager.originPolicy.allowedOrigins`)
    /// gets 403; `anyOrigin: true` opts this route out (its handler must then check who
    /// is calling itself).
    @discardableResult
    public func wsUpgrade(
        _ hm: HttpMessage, headers: KeyValuePairs<String, String> = [:],
        protocols: [StaticString] = [], anyOrigin: Bool = false
    ) -> Bool {
        guard let s = liveSlot else { return false }
        return manager.upgrade(s, hm, headers: headers, protocols: protocols, anyOrigin: anyOrigin)
    }
}

extension Manager {
    func upgrade(
        _ s: Int32, _ hm: HttpMessage, headers: KeyValuePairs<String, String>, protocols: [StaticString],
        anyOrigin: Bool
    ) -> Bool {
        guard slots[Int(s)].kind.isConnection, slots[Int(s)].proto == .http,
            !slots[Int(s)].http.flags.contains(.answered)
        else { return false }
        guard anyOrigin || services.originPolicy.allowsUpgrade(hm, tls: isTLS(s)) else {
            Log.conn(.info, s, "refused: cross-origin WebSocket upgrade")
            try? handlerReply(s, status: 403, body: Payload("Cross-origin WebSocket refused\n"), headers: [:], extra: ErrorHeaders.lines)
            return false
        }
        // Exactly one Sec-WebSocket-Key and Sec-WebSocket-Version (RFC 6455 §11.3.1,
        // §11.3.5), and one Upgrade line, so no two readers of the request can take
        // different lines for the one that counts.
        guard hm.method == "GET", hm.proto == "HTTP/1.1",
            hm.headerCount("Upgrade") == 1, hm.header("Upgrade")?.containsToken("websocket") == true,
            hm.header("Connection")?.containsToken("upgrade") == true,
            hm.headerCount("Sec-WebSocket-Key") == 1, let key = hm.header("Sec-WebSocket-Key")?.trimmingSpaces(),
            hm.headerCount("Sec-WebSocket-Version") <= 1
        else {
            try? handlerReply(s, status: 400, body: Payload("Bad WebSocket upgrade\n"), headers: [:], extra: ErrorHeaders.lines)
            return false
        }
        guard hm.header("Sec-WebSocket-Version") == "13" else {
            try? handlerReply(s, status: 426, body: Payload("Upgrade Required\n"), headers: ["Sec-WebSocket-Version": "13"], extra: ErrorHeaders.lines)
            return false
        }
        var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
        w.append("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ")
        let acceptStart = w.count
        for _ in 0..<28 { w.append(byte: 0) }
        let ok = WsAcceptKey.make(
            key: key.buffer, into: UnsafeMutableRawBufferPointer(start: headScratch + acceptStart, count: 28))
        guard ok else {
            try? handlerReply(s, status: 400, body: Payload("Bad Sec-WebSocket-Key\n"), headers: [:], extra: ErrorHeaders.lines)
            return false
        }
        w.append("\r\n")
        if let chosen = chooseProtocol(hm, protocols) {
            w.append("Sec-WebSocket-Protocol: ")
            w.append(chosen.rawBuffer)
            w.append("\r\n")
        }
        for (name, value) in headers {
            guard (try? appendHeader(&w, name, value)) != nil else { return false }
        }
        w.append("\r\n")
        guard !w.overflowed,
            (try? enqueue(s, w.written, UnsafeRawBufferPointer(start: nil, count: 0))) != nil
        else {
            replyFailed(s)
            return false
        }
        slots[Int(s)].proto = .websocket
        slots[Int(s)].ws = WsState()
        slots[Int(s)].http.flags.insert(.answered)
        replied(s)
        return true
    }

    /// The first subprotocol the client offers that the app speaks.
    private func chooseProtocol(_ hm: HttpMessage, _ protocols: [StaticString]) -> StaticString? {
        guard !protocols.isEmpty, let offered = hm.header("Sec-WebSocket-Protocol") else { return nil }
        var start = 0
        while start < offered.count {
            let end = offered.firstIndex(of: UInt8(ascii: ","), from: start) ?? offered.count
            let token = offered.slice(start, end).trimmingSpaces()
            for p in protocols where token.equals(p.rawBuffer) { return p }
            start = end + 1
        }
        return nil
    }
}
