import CMeerkat

/// Streamed bodies: after `conn.streamRequestBody()` (a server's request) or
/// `conn.streamResponseBody()` (a client's response) in `.httpHeaders`, the body comes in
/// `.httpBody` pieces as it arrives (Content-Length, chunked, or a response until the
/// server closes; any size), then `.httpMessage` with an empty body. The head stays at
/// the front of the receive buffer meanwhile; each piece is dropped once the handler has
/// had it.
extension Manager {
    func startStreaming(_ s: Int32, _ head: RequestHead, _ stream: BodyStream) -> Bool {
        headerQueue.remove(s)  // the handler took charge of the body's pace
        slots[Int(s)].stream = stream
        // A client that waits for 100 Continue has sent nothing of the body yet.
        if slots[Int(s)].recvCount == head.length { sendContinue(s, head) }
        return streamBody(s)
    }

    /// Hands out what has arrived of the body; false when more must come or the
    /// connection is done, true when the request is complete.
    func streamBody(_ s: Int32) -> Bool {
        let headLength = Int(slots[Int(s)].stream.headLength)
        while true {
            let buf = receiveBuffer(s)
            let body = buf.baseAddress!.assumingMemoryBound(to: UInt8.self) + headLength
            let available = buf.count - headLength
            switch slots[Int(s)].stream.next(body, available) {
            case let .data(n):
                deliver(s, .httpBody(ByteView(base: body, count: n)))
                guard stillServing(s) else { return false }
                dropBodyBytes(s, n)
            case let .skip(n):
                dropBodyBytes(s, n)
            case .needMore:
                // Framing (a chunk-size or trailer line) larger than the block.
                if buf.count >= recvPool.blockSize { bodyFailed(s, 400) }
                return false
            case let .done(n):
                dropBodyBytes(s, n)
                slots[Int(s)].stream = BodyStream()
                if slots[Int(s)].kind.isOurs { return finishStreamedResponse(s) }
                guard
                    case let .complete(head) = HttpParser.parseHead(
                        UnsafeRawBufferPointer(receiveBuffer(s)), fields: services.headerFields,
                        maxURILength: limits.maxURILength)
                else {
                    fail(s, 400, "bad request")
                    return false
                }
                finishRequest(s, head, body: .empty, wireLength: headLength)
                return true
            case let .failed(status):
                bodyFailed(s, status)
                return false
            }
        }
    }

    /// Bad framing: a server answers the request with `status`; a client gets `.error`.
    private func bodyFailed(_ s: Int32, _ status: Int) {
        if slots[Int(s)].kind.isOurs {
            _ = responseFailed(s, "HTTP: bad chunked response")
        } else {
            fail(s, status, "bad chunked body")
        }
    }

    /// Drops `n` body bytes behind the head; later (pipelined) bytes move up.
    private func dropBodyBytes(_ s: Int32, _ n: Int) {
        let headLength = Int(slots[Int(s)].stream.headLength)
        let after = slots[Int(s)].recvCount - headLength - n
        let p = receiveBuffer(s).baseAddress!
        if after > 0 { memmove(p + headLength, p + headLength + n, after) }
        slots[Int(s)].recvEnd -= Int32(n)
    }
}

extension Connection {
    /// Call during `.httpHeaders` to take the request body in `.httpBody` pieces as it
    /// arrives, Content-Length or chunked, of any size (a body larger than the receive
    /// block that is not streamed is answered 413). A client that sent
    /// `Expect: 100-continue` gets `100 Continue` first. `.httpMessage` follows the last
    /// piece, with an empty body.
    public func streamRequestBody() {
        guard let s = liveSlot else { return }
        manager.slots[Int(s)].http.flags.insert(.streamingBody)
    }

    /// A client's `streamRequestBody`: call during `.httpHeaders` of a response to take
    /// its body in `.httpBody` pieces as it arrives, of any size (one larger than the
    /// receive block that is not streamed is an `.error`). `.httpMessage` follows the
    /// last piece, with an empty body; a server that closes before the end gives
    /// `.error`. The response deadline (`headerTimeoutMs`) stops once streaming starts.
    public func streamResponseBody() { streamRequestBody() }
}
