import CMeerkat

/// The HTTP/1.1 side of a connection: frames requests out of the receive buffer with
/// the pure parsers, delivers them in order, and answers bad input per DESIGN.md.
extension Manager {
    /// What a connection the table has no room for gets (Core/Manager+IO.swift `reject`).
    /// (`ErrorHeaders.lines` written out: a static string cannot be joined to another.)
    static let busyReply: StaticString = """
        HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n\
        Content-Security-Policy: default-src 'none'; frame-ancestors 'none'\r\n\
        X-Content-Type-Options: nosniff\r\nReferrer-Policy: no-referrer\r\n\
        Connection: close\r\n\r\nServer is too busy\r\n
        """

    func processHTTP(_ s: Int32) {
        if slots[Int(s)].kind.isOurs {
            processResponses(s)
            return
        }
        let ranOut = whileServing(
            s, { slots[Int(s)].proto == .http && !slots[Int(s)].http.flags.contains(.awaitingReply) },
            { nextRequest(s) })
        guard ranOut, slots[Int(s)].kind != .free else { return }
        if slots[Int(s)].proto == .websocket {
            processWebSocket(s)  // frames that came right behind the upgrade request
        } else if slots[Int(s)].recvCount == 0 {
            headerQueue.remove(s)
        }
    }

    /// Frames and delivers one request; false when more bytes are needed or the
    /// connection is done.
    private func nextRequest(_ s: Int32) -> Bool {
        if slots[Int(s)].stream.isStreaming { return streamBody(s) }
        guard canQueueReply(s) else { return false }
        let buf = receiveBuffer(s)
        let full = recvPool.blockSize - Int(slots[Int(s)].recvStart) <= buf.count
        switch HttpParser.parseHead(UnsafeRawBufferPointer(buf), fields: services.headerFields, maxURILength: limits.maxURILength) {
        case .incomplete:
            if full && slots[Int(s)].recvStart == 0 {
                fail(s, 431, "request head too large")
            } else if !headerQueue.contains(s) {
                headerQueue.append(s, now: now)
            }
            return false
        case let .failed(status):
            fail(s, status, status == 414 ? "URI too long" : "bad request")
            return false
        case let .complete(head):
            // The header timeout keeps running until the body is in too: a client that
            // trickles a body would otherwise hold a receive block for as long as it likes.
            if !headerQueue.contains(s) { headerQueue.append(s, now: now) }
            return deliverRequest(s, head)
        }
    }

    private func deliverRequest(_ s: Int32, _ head: RequestHead) -> Bool {
        var f = slots[Int(s)].http.flags
        f.remove([.keepAlive, .headRequest, .http10])
        if head.keepAlive { f.insert(.keepAlive) }
        if head.isHead { f.insert(.headRequest) }
        if head.isHTTP10 { f.insert(.http10) }
        slots[Int(s)].http.flags = f
        let capacity = recvPool.blockSize

        if !f.contains(.headersDelivered) {
            if refuseByOrigin(s, head) { return false }  // before any handler sees it
            slots[Int(s)].http.flags.insert(.headersDelivered)
            slots[Int(s)].http.flags.remove(.answered)
            let bodyHere = bodyInBuffer(s, head) != nil
            if !bodyHere { slots[Int(s)].http.flags.insert(.bodyPending) }
            deliver(s, .httpHeaders(message(s, head, body: .empty)))
            slots[Int(s)].http.flags.remove(.bodyPending)
            if slots[Int(s)].kind.isConnection && slots[Int(s)].http.flags.contains(.answered) {
                noteStreamPath(s, head)
                return endAnsweredRequest(s, head)
            }
            guard stillServing(s) else { return false }
        }
        var bodyLength = 0
        var wireLength = 0
        switch head.body {
        case .none:
            break
        case let .length(n):
            if slots[Int(s)].http.flags.contains(.streamingBody) {
                return startStreaming(s, head, .length(n, headLength: head.length))
            }
            guard n <= UInt64(capacity - head.length) else {
                fail(s, 413, "body too large")
                return false
            }
            let length = Int(n)  // no larger than the block now
            guard head.length + length <= slots[Int(s)].recvCount else {
                sendContinue(s, head)
                return false
            }
            bodyLength = length
            wireLength = length
        case .chunked:
            if slots[Int(s)].http.flags.contains(.streamingBody) {
                return startStreaming(s, head, .chunked(headLength: head.length))
            }
            let buf = receiveBuffer(s)
            let rest = UnsafeMutableRawBufferPointer(rebasing: buf[head.length...])
            switch ChunkedDecoder.decode(rest, maxBody: capacity - head.length) {
            case .incomplete:
                if recvPool.blockSize - Int(slots[Int(s)].recvStart) <= buf.count && slots[Int(s)].recvStart == 0 {
                    fail(s, 413, "body too large")
                } else {
                    sendContinue(s, head)
                }
                return false
            case let .failed(status):
                fail(s, status, "bad chunked body")
                return false
            case let .complete(decoded, consumed):
                bodyLength = decoded
                wireLength = consumed
            }
        }
        let base = UnsafePointer(receiveBuffer(s).baseAddress!.assumingMemoryBound(to: UInt8.self))
        let body = ByteView(base: base + head.length, count: bodyLength)
        finishRequest(s, head, body: body, wireLength: head.length + wireLength)
        return true
    }

    /// Wire bytes of the body when all of it is in the buffer (0 for none); nil when
    /// more must come. A chunked body counts as not here (finding its end would decode it).
    private func bodyInBuffer(_ s: Int32, _ head: RequestHead) -> Int? {
        switch head.body {
        case .none: return 0
        case .chunked: return nil
        case let .length(n):
            return n <= UInt64(slots[Int(s)].recvCount - head.length) ? Int(n) : nil
        }
    }

    /// The handler answered in `.httpHeaders`: the request ends there, with no
    /// `.httpMessage`. A body already in the buffer is dropped and the connection goes
    /// on; otherwise the answer said `Connection: close` (see `writeHead`) and nothing
    /// more is read.
    private func endAnsweredRequest(_ s: Int32, _ head: RequestHead) -> Bool {
        slots[Int(s)].http.flags.remove([.headersDelivered, .streamingBody, .sentContinue])
        headerQueue.remove(s)
        guard stillServing(s), let body = bodyInBuffer(s, head) else {
            slots[Int(s)].recvStart = slots[Int(s)].recvEnd
            return false
        }
        consume(s, head.length + body)
        return true
    }

    /// Delivers the request, then drops its bytes. Without a reply by the end of the
    /// handler, later pipelined requests wait for it, so answers stay in order.
    func finishRequest(_ s: Int32, _ head: RequestHead, body: ByteView, wireLength: Int) {
        headerQueue.remove(s)
        slots[Int(s)].http.flags.insert(.awaitingReply)
        slots[Int(s)].http.flags.remove([.headersDelivered, .streamingBody, .sentContinue])
        deliver(s, .httpMessage(message(s, head, body: body)))
        guard slots[Int(s)].kind != .free else { return }
        if slots[Int(s)].proto == .websocket {  // upgraded by the handler: now, not inside its call
            deliver(s, .wsOpen(message(s, head, body: body)))
            guard slots[Int(s)].kind != .free else { return }
        }
        noteStreamPath(s, head)
        consume(s, wireLength)
        if slots[Int(s)].http.flags.contains(.replyFailed) { answerFailedReply(s) }
    }

    /// Keeps the request's path (hashed) while its head is still in the buffer, when an
    /// event stream may answer it: one opened in the handler, or a request left for a
    /// late reply. A request answered at once costs two flag tests.
    @inline(__always)
    private func noteStreamPath(_ s: Int32, _ head: RequestHead) {
        let f = slots[Int(s)].http.flags
        guard slots[Int(s)].proto == .http, f.contains(.eventStream) || f.contains(.awaitingReply) else { return }
        keepStreamPath(s, head)
    }

    private func keepStreamPath(_ s: Int32, _ head: RequestHead) {
        slots[Int(s)].streamPath = Manager.pathHash(message(s, head, body: .empty).uri.buffer)
    }

    /// A reply to the awaited request threw (too large to queue, a bad header): the
    /// handler may still answer in the same call; if it did not, the client gets 500
    /// and the connection closes rather than wait for an answer that is not coming.
    func replyFailed(_ s: Int32) {
        guard slots[Int(s)].kind.isConnection, slots[Int(s)].http.flags.contains(.awaitingReply) else { return }
        slots[Int(s)].http.flags.insert(.replyFailed)
        if !slots[Int(s)].flags.contains(.inHandler) { answerFailedReply(s) }
    }

    private func answerFailedReply(_ s: Int32) {
        slots[Int(s)].http.flags.remove(.replyFailed)
        guard slots[Int(s)].http.flags.contains(.awaitingReply), stillServing(s) else { return }
        deliverError(s, "reply failed: answered 500")
        guard stillServing(s) else { return }
        slots[Int(s)].recvStart = slots[Int(s)].recvEnd  // later pipelined requests are not answered
        replyErrorAndClose(s, 500)
    }

    func message(_ s: Int32, _ head: RequestHead, body: ByteView) -> HttpMessage {
        let base = UnsafePointer(receiveBuffer(s).baseAddress!.assumingMemoryBound(to: UInt8.self))
        return HttpMessage(base: base, head: head, fields: UnsafeBufferPointer(services.headerFields), body: body)
    }

    /// `Expect: 100-continue`: tell the client to send the body (once per request).
    func sendContinue(_ s: Int32, _ head: RequestHead) {
        guard head.expectContinue, !slots[Int(s)].http.flags.contains(.sentContinue) else { return }
        slots[Int(s)].http.flags.insert(.sentContinue)
        let text: StaticString = "HTTP/1.1 100 Continue\r\n\r\n"
        try? enqueue(s, text.rawBuffer, UnsafeRawBufferPointer(start: nil, count: 0))
    }

    func fail(_ s: Int32, _ status: Int, _ why: StaticString) {
        deliverError(s, why)
        guard slots[Int(s)].kind.isConnection else { return }
        slots[Int(s)].recvStart = slots[Int(s)].recvEnd  // nothing after bad input is trusted
        replyErrorAndClose(s, status)
    }

    /// A reply went out: if it answered a delivered request, later pipelined input may
    /// go on (at once when we are inside the read path, else at the end of this poll).
    func replied(_ s: Int32) {
        guard slots[Int(s)].http.flags.contains(.awaitingReply) else { return }
        slots[Int(s)].http.flags.remove(.awaitingReply)
        if !slots[Int(s)].flags.contains(.inHandler) && slots[Int(s)].recvCount > 0 {
            resumeQueue.append(s, now: now)
        }
    }
}
