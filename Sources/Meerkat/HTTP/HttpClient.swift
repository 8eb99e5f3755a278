import CMeerkat

/// The HTTP client's side of a connection: requests written with Host and Content-Length
/// filled in, responses framed out of the receive buffer with the pure parser (length,
/// chunked, until close; 1xx skipped; no body for HEAD, 204, 304): `.httpHeaders` when
/// the head is in, then `.httpMessage` (`hm.status`, headers, body) whole, or the body
/// streamed in `.httpBody` pieces (`streamResponseBody()`, HttpStreaming.swift). A
/// WebSocket client's 101 goes to the upgrade check instead.
extension Manager {
    func processResponses(_ s: Int32) {
        whileServing(s, { slots[Int(s)].proto == .http }, { nextResponse(s, atEOF: false) })
        guard slots[Int(s)].kind != .free else { return }
        if slots[Int(s)].proto == .websocket { processWebSocket(s) }  // frames right behind the 101
    }

    /// The server closed: a response that runs until close is complete now; one cut short
    /// is an error.
    func responseAtEOF(_ s: Int32) {
        guard slots[Int(s)].kind.isOurs, slots[Int(s)].proto == .http else { return }
        if slots[Int(s)].stream.isStreaming {
            if slots[Int(s)].stream.phase == .untilClose {
                slots[Int(s)].stream = BodyStream()
                _ = finishStreamedResponse(s)
            }
        } else if slots[Int(s)].recvBlock >= 0 && slots[Int(s)].recvCount > 0 {
            _ = nextResponse(s, atEOF: true)
        }
        // Still bytes, or a request still unanswered: the server closed mid-response.
        if slots[Int(s)].kind.isConnection && !slots[Int(s)].flags.contains(.closing)
            && (slots[Int(s)].recvCount > 0 || headerQueue.contains(s))
        {
            deliverError(s, "HTTP: connection closed before the response was complete")
        }
    }

    /// Frames and delivers one response; false when more bytes are needed or the
    /// connection is done.
    private func nextResponse(_ s: Int32, atEOF: Bool) -> Bool {
        if slots[Int(s)].stream.isStreaming { return streamBody(s) }
        let e = Int(slots[Int(s)].client)
        let buf = receiveBuffer(s)
        let full = recvPool.blockSize - Int(slots[Int(s)].recvStart) <= buf.count
        switch HttpResponseParser.parseHead(
            UnsafeRawBufferPointer(buf), fields: services.headerFields,
            requestWasHead: services.clients.entries[e].requestWasHead)
        {
        case .incomplete:
            if full && slots[Int(s)].recvStart == 0 { return responseFailed(s, "HTTP: response head too large") }
            return false
        case .failed:
            return responseFailed(s, "HTTP: malformed response")
        case let .complete(r):
            let base = UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self))
            let fields = UnsafeBufferPointer(services.headerFields)
            if services.clients.entries[e].phase == .upgrading {
                let hm = HttpMessage(base: base, head: r.head, fields: fields, body: .empty)
                if let why = upgradeFailure(hm, e) { return responseFailed(s, why) }
                headerQueue.remove(s)
                services.clients.entries[e].phase = .open
                slots[Int(s)].proto = .websocket
                slots[Int(s)].ws = WsState()
                deliver(s, .wsOpen(hm))
                consume(s, r.head.length)
                if stillServing(s) { mqttTransportUp(s) }  // MQTT over WebSocket: CONNECT now
                return false
            }
            if r.status < 200 {  // 100 Continue and other interim answers: skipped
                consume(s, r.head.length)
                return true
            }
            let headLength = r.head.length
            if !slots[Int(s)].http.flags.contains(.headersDelivered) {
                slots[Int(s)].http.flags.insert(.headersDelivered)
                deliver(s, .httpHeaders(HttpMessage(base: base, head: r.head, fields: fields, body: .empty)))
                guard stillServing(s) else { return false }
            }
            if slots[Int(s)].http.flags.contains(.streamingBody) {
                switch r.body {
                case .none: break
                case let .length(n): return startStreamingResponse(s, .length(n, headLength: headLength))
                case .chunked: return startStreamingResponse(s, .chunked(headLength: headLength))
                case .untilClose: return startStreamingResponse(s, .untilClose(headLength: headLength))
                }
            }
            let room = recvPool.blockSize - Int(slots[Int(s)].recvStart) - headLength
            var bodyLength = 0, used = 0
            switch r.body {
            case .none:
                break
            case let .length(n):
                guard n <= UInt64(room) else { return responseFailed(s, "HTTP: response larger than the receive block") }
                guard buf.count - headLength >= Int(n) else { return false }
                bodyLength = Int(n)
                used = bodyLength
            case .chunked:
                let body = UnsafeMutableRawBufferPointer(rebasing: buf[headLength...])
                switch ChunkedDecoder.decode(body, maxBody: room) {
                case .incomplete:
                    if full { return responseFailed(s, "HTTP: response larger than the receive block") }
                    return false
                case .failed:
                    return responseFailed(s, "HTTP: bad chunked response")
                case let .complete(length, consumed):
                    bodyLength = length
                    used = consumed
                }
            case .untilClose:
                guard atEOF else {
                    if full { return responseFailed(s, "HTTP: response larger than the receive block") }
                    return false
                }
                bodyLength = buf.count - headLength
                used = bodyLength
            }
            return deliverResponse(
                s, r, body: ByteView(base: base + headLength, count: bodyLength),
                wireLength: headLength + used)
        }
    }

    /// The response is complete: `.httpMessage`, and its bytes are dropped.
    private func deliverResponse(_ s: Int32, _ r: ResponseHead, body: ByteView, wireLength: Int) -> Bool {
        headerQueue.remove(s)
        services.clients.entries[Int(slots[Int(s)].client)].requestWasHead = false
        slots[Int(s)].http.flags.remove([.headersDelivered, .streamingBody])
        let base = UnsafePointer(receiveBuffer(s).baseAddress!.assumingMemoryBound(to: UInt8.self))
        deliver(s, .httpMessage(HttpMessage(base: base, head: r.head, fields: UnsafeBufferPointer(services.headerFields), body: body)))
        if slots[Int(s)].kind != .free { consume(s, wireLength) }
        return true
    }

    /// The handler asked for the body in pieces: the response deadline stops (the
    /// handler took charge of the pace), and what is here goes out.
    private func startStreamingResponse(_ s: Int32, _ stream: BodyStream) -> Bool {
        headerQueue.remove(s)
        slots[Int(s)].stream = stream
        return streamBody(s)
    }

    /// A streamed body has ended: `.httpMessage` with the head (still at the front of
    /// the buffer) and an empty body.
    func finishStreamedResponse(_ s: Int32) -> Bool {
        let e = Int(slots[Int(s)].client)
        guard
            case let .complete(r) = HttpResponseParser.parseHead(
                UnsafeRawBufferPointer(receiveBuffer(s)), fields: services.headerFields,
                requestWasHead: services.clients.entries[e].requestWasHead)
        else {
            return responseFailed(s, "HTTP: malformed response")
        }
        return deliverResponse(s, r, body: .empty, wireLength: r.head.length)
    }

    func responseFailed(_ s: Int32, _ why: StaticString) -> Bool {
        deliverError(s, why)
        scheduleClose(s)
        return false
    }

    /// Writes a request: the request line, Host (from the URL), the caller's headers,
    /// Content-Length when there is a body (or the method usually has one), the body.
    func sendRequest(
        _ s: Int32, method: String, path: String, headers: KeyValuePairs<String, String>,
        auth: HttpAuth? = nil, body: UnsafeRawBufferPointer
    ) throws(ConnectionError) {
        let e = Int(slots[Int(s)].client)
        guard e >= 0, services.clients.entries[e].kind == .http, slots[Int(s)].proto == .http else { throw .invalidState }
        guard Manager.isToken(method), Manager.isTarget(path) else { throw .invalidHeader }
        var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
        w.append(string: method)
        w.append(byte: ASCII.space)
        w.append(string: path)
        w.append(" HTTP/1.1\r\nHost: ")
        appendHostHeader(&w, e)
        w.append("\r\n")
        for (name, value) in headers { try appendHeader(&w, name, value) }
        if let auth { try w.append(authorization: auth) }
        if body.count > 0 || method == "POST" || method == "PUT" {
            w.append("Content-Length: ")
            w.append(decimal: body.count)
            w.append("\r\n")
        }
        w.append("\r\n")
        guard !w.overflowed else { throw .sendBufferFull }
        try enqueue(s, w.written, body)
        services.clients.entries[e].requestWasHead = method == "HEAD"
        if !headerQueue.contains(s) { headerQueue.append(s, now: now) }  // the answer's deadline
    }

    private static func isToken(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy(ASCII.isTokenChar)
    }

    private static func isTarget(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F }
    }
}

extension Connection {
    /// Sends an HTTP request on a client connection (from `connect("http://…")`): Host
    /// and Content-Length are filled in; the answer arrives as `.httpMessage` (`hm.status`).
    /// The body is copied, so it must fit the send block with the head. `auth` adds an
    /// `Authorization` header (Basic or Bearer, `HttpAuth`).
    public func httpRequest(
        _ method: String = "GET", _ path: String = "/", headers: KeyValuePairs<String, String> = [:],
        auth: HttpAuth? = nil, body: some ByteSource
    ) throws(ConnectionError) {
        let s = try openSlot()
        try body.withBytes { (bytes) throws(ConnectionError) in
            try manager.sendRequest(s, method: method, path: path, headers: headers, auth: auth, body: bytes)
        }
    }

    public func httpRequest(
        _ method: String = "GET", _ path: String = "/",
        headers: KeyValuePairs<String, String> = [:], auth: HttpAuth? = nil
    ) throws(ConnectionError) {
        try manager.sendRequest(
            try openSlot(), method: method, path: path, headers: headers, auth: auth,
            body: UnsafeRawBufferPointer(start: nil, count: 0))
    }
}
