/// What MeerkatTesting's `TestChannel` needs of the library's internals and an app must
/// not see: the loop's fake clock, and the client's side of the wire (a server's
/// WebSocket frame read, a client's frame header written, a reply parsed). Declared
/// `@_spi(Testing)`: only a module that says `@_spi(Testing) import Meerkat` sees them,
/// and a firmware's linker drops them, as nothing there calls them.
extension Manager {
    /// The fake clock (ms): when set, the loop reads its time here, not from the
    /// monotonic clock, so timers and timeouts move only when the test moves it.
    @_spi(Testing) public var testClock: Int64? {
        get { testClockMs }
        set { testClockMs = newValue }
    }

    /// The loop's time (ms), read at its last wake-up.
    @_spi(Testing) public var loopTime: Int64 { now }

    /// When the loop next has timed work (`now` when some is pending, `Int64.max` when none).
    @_spi(Testing) public func nextTimedWork() -> Int64 { nextDue() }
}

/// The wire as a test client sees it, through the library's own codecs.
@_spi(Testing) public enum TestWire {
    /// The header of the whole server (unmasked) WebSocket frame header at the front of
    /// `bytes`, or nil when it is not all there or not a frame.
    public static func serverFrameHeader(_ bytes: UnsafeBufferPointer<UInt8>) -> (
        fin: Bool, opcode: UInt8, headerLength: Int, payloadLength: UInt64
    )? {
        guard let base = bytes.baseAddress,
            case let .header(h) = WsFrame.parseHeader(base, bytes.count, fromClient: false)
        else { return nil }
        return (h.fin, h.opcode, h.headerLength, h.payloadLength)
    }

    /// Writes a frame header (unmasked, up to 10 bytes) at `out`; returns its length.
    public static func writeFrameHeader(_ out: UnsafeMutablePointer<UInt8>, fin: Bool, opcode: UInt8, length: UInt64) -> Int {
        WsFrame.writeHeader(out, fin: fin, opcode: opcode, length: length)
    }

    /// (bytes used, the reply) once a whole HTTP/1.1 reply is at the front of `bytes`;
    /// (0, nil) while it is incomplete; (-1, nil) when it is not HTTP/1.1. The body is
    /// de-chunked; `requestWasHead`: it has none; `atEnd`: the peer closed (a body that
    /// runs until the close is whole).
    public static func parseReply(_ bytes: [UInt8], requestWasHead: Bool, atEnd: Bool) -> (
        Int, (status: Int, headers: [(name: String, value: String)], body: [UInt8])?
    ) {
        var copy = bytes
        return copy.withUnsafeMutableBytes { buf -> (Int, (status: Int, headers: [(name: String, value: String)], body: [UInt8])?) in
            let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 64)
            defer { fields.deallocate() }
            let r: ResponseHead
            switch HttpResponseParser.parseHead(UnsafeRawBufferPointer(buf), fields: fields, requestWasHead: requestWasHead) {
            case .incomplete: return (0, nil)
            case .failed: return (-1, nil)
            case let .complete(head): r = head
            }
            let start = r.head.length
            let rest = UnsafeMutableRawBufferPointer(rebasing: buf[start...])
            var bodyLength = 0, used = start
            switch r.body {
            case .none: break
            case let .length(n):
                guard UInt64(rest.count) >= n else { return (0, nil) }
                bodyLength = Int(n)
                used += bodyLength
            case .chunked:
                switch ChunkedDecoder.decode(rest, maxBody: Int(Int32.max)) {
                case .incomplete: return (0, nil)
                case .failed: return (-1, nil)
                case let .complete(length, consumed):
                    bodyLength = length
                    used += consumed
                }
            case .untilClose:
                guard atEnd else { return (0, nil) }
                bodyLength = rest.count
                used += bodyLength
            }
            let message = HttpMessage(
                base: UnsafePointer(buf.baseAddress!.assumingMemoryBound(to: UInt8.self)),
                head: r.head, fields: UnsafeBufferPointer(rebasing: fields[0..<Int(r.head.headerCount)]),
                body: .empty)
            var headers: [(name: String, value: String)] = []
            for field in message.headers { headers.append((field.name.string, field.value.string)) }
            return (used, (r.status, headers, Array(rest[0..<bodyLength])))
        }
    }
}
