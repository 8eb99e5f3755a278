/// Replies to HTTP requests (the docs' `reply`).
extension Connection {
    /// Sends a complete response: status line, `headers`, a correct Content-Length, the
    /// body (which may hold any bytes, NUL included). For HEAD the body is left out;
    /// `Connection: close` is added (and the connection drained) when the request asked
    /// for it. Throws `.invalidHeader` for CR/LF/NUL in a header or a non-token name, or
    /// for a Content-Length / Transfer-Encoding header (the library writes those);
    /// `.sendBufferFull` when the response does not fit the send block (nothing sent).
    /// The body is copied, so it must fit a send block with the head; the overloads for
    /// `StaticString`, `[UInt8]` and a `ByteView` of the request take any size.
    /// When a reply throws (other than `.closed`) and the handler does not answer the
    /// request some other way before it returns, the library answers 500 and closes.
    /// One reply per request: a second throws `.invalidState`. A reply in `.httpHeaders`
    /// ends the request there (no `.httpMessage`): a body already received is dropped,
    /// otherwise the reply says `Connection: close` and the rest is never read.
    public func reply(
        _ status: Int, _ body: some ByteSource,
        headers: KeyValuePairs<String, String> = [:]
    ) throws(ConnectionError) {
        let s = try openSlot()
        try Payload.lending(body) { (p) throws(ConnectionError) in
            try manager.handlerReply(s, status: status, body: p, headers: headers)
        }
    }

    /// A reply whose body is immortal: sent from where it is, any size. (Inlined into
    /// the handler: the one-liner would otherwise cost a call on every request.)
    @inline(__always)
    public func reply(
        _ status: Int, _ body: StaticString,
        headers: KeyValuePairs<String, String> = [:]
    ) throws(ConnectionError) {
        try manager.handlerReply(try openSlot(), status: status, body: Payload(body), headers: headers)
    }

    /// A reply whose body array the connection keeps (retained, not copied) until it
    /// is sent: any size.
    public func reply(
        _ status: Int, _ body: [UInt8],
        headers: KeyValuePairs<String, String> = [:]
    ) throws(ConnectionError) {
        try manager.handlerReply(try openSlot(), status: status, body: Payload(body), headers: headers)
    }

    /// A reply with a view: when it lies in this connection's receive buffer (an echo
    /// of the request body), it is sent from there, any size; other views are copied.
    public func reply(
        _ status: Int, _ body: ByteView,
        headers: KeyValuePairs<String, String> = [:]
    ) throws(ConnectionError) {
        let s = try openSlot()
        try manager.handlerReply(s, status: status, body: manager.payload(body, in: s), headers: headers)
    }

    /// A response with an empty body.
    public func reply(_ status: Int, headers: KeyValuePairs<String, String> = [:]) throws(ConnectionError) {
        try manager.handlerReply(try openSlot(), status: status, body: .empty, headers: headers)
    }
}

extension Manager {
    /// A reply made by a handler: a failure is noted, so the request is not left
    /// waiting for an answer that is not coming (see `replyFailed`).
    func handlerReply(
        _ s: Int32, status: Int, body: Payload, headers: KeyValuePairs<String, String>, extra: StaticString = ""
    ) throws(ConnectionError) {
        do throws(ConnectionError) {
            try sendReply(s, status: status, body: body, headers: headers, extra: extra)
        } catch {
            if error != .closed { replyFailed(s) }
            throw error
        }
    }

    /// `extra`: preformatted header lines (`ErrorHeaders.lines` on an error answer).
    func sendReply(
        _ s: Int32, status: Int, body: Payload, headers: KeyValuePairs<String, String>, extra: StaticString = ""
    ) throws(ConnectionError) {
        guard slots[Int(s)].kind.isConnection, !slots[Int(s)].http.flags.contains(.answered) else { throw .invalidState }
        var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
        try writeHead(&w, s, status: status, headers: headers, contentLength: body.bytes.count, extra: extra)
        let interim = status < 200
        let omitBody = slots[Int(s)].http.flags.contains(.headRequest) || interim || status == 204 || status == 304
        if omitBody {
            try enqueue(s, w.written, UnsafeRawBufferPointer(start: nil, count: 0))
        } else {
            try enqueue(s, w.written, body.bytes, owner: body.owner)
        }
        if !interim { finishedReply(s) }
    }

    /// Status line, the caller's headers, Content-Length (when given and allowed),
    /// `extra` (pre-formatted lines), what `lines` writes, the Connection header, and
    /// the blank line.
    func writeHead(
        _ w: inout ByteWriter, _ s: Int32, status: Int, headers: KeyValuePairs<String, String>,
        contentLength: Int?, extra: StaticString,
        lines: (inout ByteWriter) -> Void = { _ in }
    ) throws(ConnectionError) {
        guard (100...999).contains(status) else { throw .invalidState }
        let interim = status < 200
        // An answer before the body is all here ends the connection after it.
        if !interim && slots[Int(s)].http.flags.contains(.bodyPending) { slots[Int(s)].http.flags.remove(.keepAlive) }
        let flags = slots[Int(s)].http.flags
        w.append("HTTP/1.1 ")
        w.append(decimal: status)
        w.append(byte: ASCII.space)
        w.append(HttpStatus.reason(status))
        w.append("\r\n")
        for (name, value) in headers {
            try appendHeader(&w, name, value)
        }
        if let length = contentLength, !interim && status != 204 && status != 304 {
            w.append("Content-Length: ")
            w.append(decimal: length)
            w.append("\r\n")
        }
        w.append(extra)
        lines(&w)
        if !interim && !flags.contains(.keepAlive) {
            w.append("Connection: close\r\n")
        } else if flags.contains(.http10) && !interim {
            w.append("Connection: keep-alive\r\n")
        }
        w.append("\r\n")
        guard !w.overflowed else { throw .sendBufferFull }
    }

    /// A response is complete: pipelined requests may go on, or the connection drains
    /// when the request asked to close.
    func finishedReply(_ s: Int32) {
        slots[Int(s)].http.flags.remove([.chunkedReply, .eventStream])
        slots[Int(s)].http.flags.insert(.answered)
        replied(s)
        if !slots[Int(s)].http.flags.contains(.keepAlive) {
            slots[Int(s)].flags.insert(.draining)
            if !hasOutput(s) { finishDrain(s) }
        }
    }

    func appendHeader(_ w: inout ByteWriter, _ name: String, _ value: String) throws(ConnectionError) {
        var name = name, value = value
        let ok = name.withUTF8 { n in
            value.withUTF8 { v in
                let nv = ByteView(UnsafeRawBufferPointer(n))
                guard nv.count > 0, !nv.equalsIgnoringCase("content-length"),
                    !nv.equalsIgnoringCase("transfer-encoding")
                else { return false }
                for c in n where !ASCII.isTokenChar(c) { return false }
                for c in v where c < 0x20 && c != ASCII.tab || c == 0x7F { return false }
                w.append(UnsafeRawBufferPointer(n))
                w.append(": ")
                w.append(UnsafeRawBufferPointer(v))
                w.append("\r\n")
                return true
            }
        }
        guard ok else { throw .invalidHeader }
    }

    /// Library-made answer to bad input: a short text body, `Connection: close`, drain.
    func replyErrorAndClose(_ s: Int32, _ status: Int) {
        slots[Int(s)].http.flags.remove([.keepAlive, .headRequest, .answered])
        let reason = HttpStatus.reason(status)
        try? sendReply(
            s, status: status, body: Payload(borrowed: reason.rawBuffer), headers: ["Content-Type": "text/plain"],
            extra: ErrorHeaders.lines)
        if !slots[Int(s)].flags.contains(.draining) { scheduleClose(s) }
    }
}
