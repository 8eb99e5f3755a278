/// Streamed responses: `Transfer-Encoding: chunked` and server-sent events (the docs'
/// `http_chunk` and `http_sse`). The head is written once, with Transfer-Encoding and
/// never a Content-Length (pymongoose sent `Content-Length: 0` before the chunks).
extension Connection {
    /// Starts a chunked response explicitly (status and extra headers). `httpChunk` and
    /// `httpSSE` start one with 200 by themselves when none is open.
    public func startChunked(_ status: Int = 200, headers: KeyValuePairs<String, String> = [:]) throws(ConnectionError) {
        let s = try openSlot()
        try manager.sendChunk(s, status: status, headers: headers, sse: false, event: nil, data: .empty, end: false)
    }

    /// Sends one chunk; an empty `data` ends the response. The data is copied, so the
    /// chunk must fit the send block; the overloads for `StaticString` and `[UInt8]`
    /// send a chunk of any size from where it is.
    public func httpChunk(_ data: some ByteSource) throws(ConnectionError) {
        let s = try openSlot()
        try Payload.lending(data) { (p) throws(ConnectionError) in try manager.sendChunk(s, p) }
    }

    public func httpChunk(_ data: StaticString) throws(ConnectionError) { try manager.sendChunk(try openSlot(), Payload(data)) }

    public func httpChunk(_ data: [UInt8]) throws(ConnectionError) { try manager.sendChunk(try openSlot(), Payload(data)) }

    /// Sends one server-sent event (`event:` line only when `event` is not empty; each
    /// line of `data` becomes a `data:` line). Starts a `text/event-stream` response.
    public func httpSSE(event: String = "", data: String) throws(ConnectionError) {
        let s = try openSlot()
        try data.withBytes { (bytes) throws(ConnectionError) in
            try event.withBytes { (name) throws(ConnectionError) in
                try manager.sendChunk(
                    s, status: 200, headers: [:], sse: true, event: name, data: Payload(borrowed: bytes), end: false)
            }
        }
    }
}

extension Manager {
    /// `httpChunk`: one chunk of a 200 response opened by the first; empty data ends it.
    func sendChunk(_ s: Int32, _ data: Payload) throws(ConnectionError) {
        try sendChunk(s, status: 200, headers: [:], sse: false, event: nil, data: data, end: data.bytes.count == 0)
    }

    func sendChunk(
        _ s: Int32, status: Int, headers: KeyValuePairs<String, String>, sse: Bool,
        event: UnsafeRawBufferPointer?, data: Payload, end: Bool
    ) throws(ConnectionError) {
        let opening = !slots[Int(s)].http.flags.contains(.chunkedReply)
        do throws(ConnectionError) {
            try writeChunk(s, status: status, headers: headers, sse: sse, event: event, payload: data, end: end)
        } catch {
            // A stream that never started leaves its request unanswered (see replyFailed);
            // a later chunk may be retried after `.write`.
            if opening && error != .closed { replyFailed(s) }
            throw error
        }
    }

    private func writeChunk(
        _ s: Int32, status: Int, headers: KeyValuePairs<String, String>, sse: Bool,
        event: UnsafeRawBufferPointer?, payload: Payload, end: Bool
    ) throws(ConnectionError) {
        let data = payload.bytes
        let opening = !slots[Int(s)].http.flags.contains(.chunkedReply)
        guard slots[Int(s)].kind.isConnection, !(opening && slots[Int(s)].http.flags.contains(.answered)) else {
            throw .invalidState  // one reply per request
        }
        var w = ByteWriter(base: headScratch, capacity: limits.sendBufferSize)
        if opening {
            try writeHead(
                &w, s, status: status, headers: headers, contentLength: nil,
                extra: sse
                    ? "Content-Type: text/event-stream\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n"
                    : "Transfer-Encoding: chunked\r\n")
        }
        let headOnly = slots[Int(s)].http.flags.contains(.headRequest)
        let chunkStart = w.count
        if !headOnly && !sse && payload.owner.canBeHeld && data.count > limits.sendBufferSize / 2 {
            // Large data the library can keep: only the size line is copied; the data
            // is sent from where it lives, then the chunk's CRLF.
            for _ in 0..<Manager.sizeLine { w.append(byte: ASCII.space) }
            guard !w.overflowed, UInt64(data.count) <= 0xFFFF_FFFF else { throw .sendBufferFull }
            Manager.writeHex(data.count, into: headScratch + chunkStart, width: Manager.sizeLine)
            let crlf: StaticString = "\r\n"
            try enqueue(s, w.written, data, owner: payload.owner, tail: crlf.rawBuffer)
            slots[Int(s)].http.flags.insert([.chunkedReply, .answered])
            return
        }
        if !headOnly && (data.count > 0 || (event?.count ?? 0) > 0) {
            Manager.appendChunk(&w, sse: sse, event: event, data: data)
            guard !w.overflowed else { throw .sendBufferFull }
        }
        if end && !headOnly { w.append("0\r\n\r\n") }
        guard !w.overflowed else { throw .sendBufferFull }
        try enqueue(s, w.written, UnsafeRawBufferPointer(start: nil, count: 0))
        slots[Int(s)].http.flags.insert([.chunkedReply, .answered])
        // Between events a comment line is harmless: the loop may send one as a heartbeat.
        if sse { slots[Int(s)].http.flags.insert(.eventStream) }
        if end { finishedReply(s) }
    }

    /// A chunk's size line: 8 hex digits (leading zeros allowed) and CRLF.
    private static let sizeLine = 10

    /// One chunk of `data` (`sse`: one event, `event:` line when named, a `data:` line
    /// per line of `data`), size line first; `w.overflowed` when it does not fit.
    static func appendChunk(_ w: inout ByteWriter, sse: Bool, event: UnsafeRawBufferPointer?, data: UnsafeRawBufferPointer) {
        let chunkStart = w.count
        // Reserve room for the size line, fill it in after.
        for _ in 0..<sizeLine { w.append(byte: ASCII.space) }
        let payloadStart = w.count
        if sse {
            if let event, event.count > 0 {
                w.append("event: ")
                w.append(event)
                w.append("\n")
            }
            var start = 0
            let bytes = ByteView(data)
            repeat {
                let end = bytes.firstIndex(of: ASCII.lf, from: start) ?? bytes.count
                w.append("data: ")
                w.append(bytes.slice(start, end).buffer)
                w.append("\n")
                start = end + 1
            } while start < bytes.count
            w.append("\n")
        } else {
            w.append(data)
        }
        w.append("\r\n")
        guard !w.overflowed else { return }
        writeHex(w.count - payloadStart - 2, into: w.base + chunkStart, width: sizeLine)
    }

    /// `count` as hex, right-aligned in `width - 2` columns (leading zeros, which chunk
    /// sizes allow), then CRLF.
    private static func writeHex(_ count: Int, into p: UnsafeMutablePointer<UInt8>, width: Int) {
        let digits: StaticString = "0123456789abcdef"
        var v = count
        var i = width - 3
        while i >= 0 {
            p[i] = digits.utf8Start[v & 15]
            v >>= 4
            i -= 1
        }
        p[width - 2] = ASCII.cr
        p[width - 1] = ASCII.lf
    }
}
