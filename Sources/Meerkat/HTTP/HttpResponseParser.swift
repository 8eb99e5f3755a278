/// How a response's body is delimited (RFC 9112 §6.3).
enum ResponseBody: Equatable {
    case none
    case length(UInt64)
    case chunked
    /// Neither length nor chunked: the body runs until the server closes.
    case untilClose
}

/// A parsed response head. Laid out as `RequestHead` so `HttpMessage` serves both, the
/// way the docs' `mg_http_message` does: `method` is the version ("HTTP/1.1"), `uri` the
/// status code ("200"), `proto` the reason ("OK"); `status` is the code as a number.
struct ResponseHead: Equatable {
    var head = RequestHead()
    var status = 0
    var body: ResponseBody = .none
}

enum ResponseResult: Equatable {
    case incomplete
    case complete(ResponseHead)
    /// Not a response this client can read (bad status line or headers, a transfer
    /// coding other than chunked, a length too large for 64 bits).
    case failed
}

/// A strict HTTP/1.1 response-head parser: pure, bytes in and offsets out, no allocation.
/// The header lines follow the request parser's rules (`HttpParser.parseHeaderLines`).
enum HttpResponseParser {
    /// Parses the head at the start of `buf`. `requestWasHead`: the answer to a HEAD has
    /// no body whatever its headers say.
    static func parseHead(
        _ buf: UnsafeRawBufferPointer, fields: UnsafeMutableBufferPointer<HeaderField>,
        requestWasHead: Bool
    ) -> ResponseResult {
        let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let n = buf.count
        guard let p, n > 0 else { return .incomplete }
        var r = ResponseHead()
        // Status line: HTTP-version SP 3DIGIT SP [reason] CRLF ("HTTP/1.1 200\r\n" too).
        let prefix: StaticString = "HTTP/1."
        var i = 0
        while i < 7 {
            if i == n { return .incomplete }
            guard p[i] == prefix.utf8Start[i] else { return .failed }
            i += 1
        }
        guard i + 5 <= n else { return .incomplete }
        guard ASCII.isDigit(p[7]), p[8] == ASCII.space,
            ASCII.isDigit(p[9]), ASCII.isDigit(p[10]), ASCII.isDigit(p[11])
        else { return .failed }
        r.head.isHTTP10 = p[7] == UInt8(ascii: "0")
        r.head.methodStart = 0
        r.head.methodEnd = 8
        r.status = Int(p[9] - 48) * 100 + Int(p[10] - 48) * 10 + Int(p[11] - 48)
        guard r.status >= 100 else { return .failed }
        r.head.pathStart = 9
        r.head.pathEnd = 12
        r.head.queryStart = 12
        r.head.targetEnd = 12
        // RFC 9112 §4: exactly three digits, then SP (or, for a missing reason, the CR):
        // "2000 OK" and "200x" are not 200.
        i = 12
        if i == n { return .incomplete }
        guard p[i] == ASCII.space || p[i] == ASCII.cr else { return .failed }
        if p[i] == ASCII.space { i += 1 }
        r.head.protoStart = Int32(i)
        while i < n && (p[i] >= 0x20 && p[i] != 0x7F || p[i] == ASCII.tab) { i += 1 }
        // A status line over 4 KiB is refused whole as well as cut (the same bytes, the
        // same answer, however they arrive).
        if i > 4096 { return .failed }
        if i == n { return .incomplete }
        guard p[i] == ASCII.cr else { return .failed }
        if i + 1 == n { return .incomplete }
        guard p[i + 1] == ASCII.lf else { return .failed }
        r.head.protoEnd = Int32(i)
        i += 2

        var facts = HttpParser.HeaderFacts()
        switch HttpParser.parseHeaderLines(
            p, n, &i, fields: fields, count: &r.head.headerCount, facts: &facts,
            isHTTP10: r.head.isHTTP10)
        {
        case .incomplete: return .incomplete
        case .failed: return .failed
        case .complete: break
        }
        r.head.length = i
        r.head.keepAlive = r.head.isHTTP10 ? (facts.keepAliveToken && !facts.closeToken) : !facts.closeToken
        if requestWasHead || r.status < 200 || r.status == 204 || r.status == 304 {
            r.body = .none
        } else if facts.chunked {
            r.body = .chunked
            if facts.contentLength != nil { r.head.keepAlive = false }  // RFC 9112 §6.3: TE wins, then close
        } else if let length = facts.contentLength {
            r.body = length > 0 ? .length(length) : .none
        } else {
            r.body = .untilClose
            r.head.keepAlive = false
        }
        return .complete(r)
    }
}

extension HttpMessage {
    /// A response's status code (0 for a request).
    public var status: Int {
        guard method.count == 8, method.hasPrefix("HTTP/1."), uri.count == 3 else { return 0 }
        let d = uri.buffer
        return Int(d[0] - 48) * 100 + Int(d[1] - 48) * 10 + Int(d[2] - 48)
    }
}
