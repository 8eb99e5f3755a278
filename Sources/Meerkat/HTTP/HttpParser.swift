import CMeerkat

/// Where one header line's name and value sit, as offsets into the parsed bytes.
public struct HeaderField {
    var nameStart: Int32 = 0
    var nameLength: Int32 = 0
    var valueStart: Int32 = 0
    var valueLength: Int32 = 0
}

/// How a request's body is delimited.
enum BodyKind: Equatable {
    case none
    /// Content-Length, as sent: 64-bit on every board. The server compares it with what
    /// it can hold (413) before narrowing it.
    case length(UInt64)
    case chunked
}

/// A parsed request head: offsets into the bytes it was parsed from, and what the
/// connection must know to frame the body and the reply.
struct RequestHead: Equatable {
    var methodStart: Int32 = 0, methodEnd: Int32 = 0
    var pathStart: Int32 = 0  // the path: the target's start, or past an absolute-form's authority
    var pathEnd: Int32 = 0  // the request target up to '?'
    var authorityStart: Int32 = 0  // an absolute-form target's host[:port] (empty otherwise)
    var authorityEnd: Int32 = 0
    var queryStart: Int32 = 0  // after '?' (== targetEnd when there is none)
    var targetEnd: Int32 = 0
    var protoStart: Int32 = 0, protoEnd: Int32 = 0
    var headerCount: Int = 0
    /// Bytes from the start of the buffer through the blank line.
    var length: Int = 0
    var body: BodyKind = .none
    var keepAlive = true
    var expectContinue = false
    var isHead = false
    var isHTTP10 = false
}

enum HeadResult: Equatable {
    case incomplete
    case complete(RequestHead)
    /// The status to answer with before closing (400, 413, 414, 431, 501, 505).
    case failed(Int)
}

/// A strict HTTP/1.1 request-head parser (RFC 9112): pure, bytes in and offsets out,
/// no allocation. Anything the RFC lets a server reject is rejected: bare CR or LF,
/// obs-fold, whitespace before a colon, control bytes, bad or conflicting
/// Content-Length, Content-Length with Transfer-Encoding, a missing Host in HTTP/1.1.
enum HttpParser {
    /// Whether `buf` holds a whole head: after any leading empty lines, a line ending in
    /// CRLF followed by the empty line. (A cheap look; `parseHead` judges the head.)
    static func holdsWholeHead(_ buf: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        while i + 1 < buf.count && buf[i] == ASCII.cr && buf[i + 1] == ASCII.lf { i += 2 }
        while i + 3 < buf.count {
            if buf[i] == ASCII.cr && buf[i + 1] == ASCII.lf && buf[i + 2] == ASCII.cr && buf[i + 3] == ASCII.lf {
                return true
            }
            i += 1
        }
        return false
    }

    /// Parses the head at the start of `buf`. Leading empty lines (CRLF) are skipped, as
    /// RFC 9112 §2.2 allows. Header offsets go to `fields`; more lines than it holds
    /// fail with 431.
    static func parseHead(
        _ buf: UnsafeRawBufferPointer, fields: UnsafeMutableBufferPointer<HeaderField>,
        maxURILength: Int
    ) -> HeadResult {
        let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self)
        let n = buf.count
        guard let p, n > 0 else { return .incomplete }
        var head = RequestHead()
        var i = 0
        while i + 1 < n && p[i] == ASCII.cr && p[i + 1] == ASCII.lf { i += 2 }
        if i < n && p[i] == ASCII.cr { return i + 1 < n ? .failed(400) : .incomplete }

        // Request line: method SP request-target SP HTTP-version CRLF.
        head.methodStart = Int32(i)
        while i < n && ASCII.isTokenChar(p[i]) { i += 1 }
        // Longer than any method, whether or not the line has ended: a head cut inside
        // the method must get the answer the whole one gets.
        if i - Int(head.methodStart) > 32 { return .failed(400) }
        if i == n { return .incomplete }
        guard p[i] == ASCII.space, i > Int(head.methodStart) else { return .failed(400) }
        head.methodEnd = Int32(i)
        i += 1
        let targetStart = i
        var question = -1
        while i < n && p[i] > 0x20 && p[i] < 0x7F {
            if p[i] == UInt8(ascii: "?") && question < 0 { question = i }
            i += 1
        }
        if i - targetStart > maxURILength { return .failed(414) }
        if i == n { return .incomplete }
        guard p[i] == ASCII.space, i > targetStart else { return .failed(400) }
        head.targetEnd = Int32(i)
        head.pathStart = Int32(targetStart)
        head.pathEnd = Int32(question >= 0 ? question : i)
        head.queryStart = Int32(question >= 0 ? question + 1 : i)
        // Absolute-form ("GET http://host/a HTTP/1.1"): a server must accept it (RFC 9112
        // §3.2.2), so every handler's `hm.uri` is its path. Origin-form, the usual case,
        // starts with '/' and costs this one compare. (CONNECT's host:port is not one.)
        if p[targetStart] != UInt8(ascii: "/")
            && ByteView(base: p + Int(head.methodStart), count: Int(head.methodEnd - head.methodStart)) != "CONNECT"
        {
            switch absoluteForm(p, targetStart, Int(head.pathEnd)) {
            case .notAbsolute: break
            case .malformed: return .failed(400)
            case let .path(authorityStart, authorityEnd):
                head.authorityStart = Int32(authorityStart)
                head.authorityEnd = Int32(authorityEnd)
                // An empty path is "/" (RFC 9110 §4.2.3): the second slash of "//" spells
                // it, so `uri` stays a view into the buffer.
                head.pathStart = Int32(authorityEnd == Int(head.pathEnd) ? authorityStart - 1 : authorityEnd)
                if authorityEnd == Int(head.pathEnd) { head.pathEnd = Int32(authorityStart) }
            }
        }
        i += 1
        head.protoStart = Int32(i)
        // "HTTP/" DIGIT "." DIGIT
        let proto: StaticString = "HTTP/x.y"
        var k = 0
        while k < 8 && i + k < n {
            let c = p[i + k]
            let ok: Bool
            switch k {
            case 5, 7: ok = ASCII.isDigit(c)
            default: ok = c == proto.utf8Start[k]
            }
            guard ok else { return .failed(400) }
            k += 1
        }
        if k < 8 || i + 8 >= n { return .incomplete }
        i += 8
        guard p[i] == ASCII.cr else { return .failed(400) }
        if i + 1 == n { return .incomplete }
        guard p[i + 1] == ASCII.lf else { return .failed(400) }
        head.protoEnd = Int32(i)
        let major = p[Int(head.protoStart) + 5], minor = p[Int(head.protoStart) + 7]
        guard major == UInt8(ascii: "1") else { return .failed(505) }
        head.isHTTP10 = minor == UInt8(ascii: "0")
        i += 2

        // Header lines, up to the empty line.
        var facts = HeaderFacts()
        switch HttpParser.parseHeaderLines(
            p, n, &i, fields: fields, count: &head.headerCount, facts: &facts,
            isHTTP10: head.isHTTP10)
        {
        case .incomplete: return .incomplete
        case let .failed(status): return .failed(status)
        case .complete: break
        }
        let contentLength = facts.contentLength, chunked = facts.chunked, transferEncoding = facts.transferEncoding
        let hostCount = facts.hostCount, closeToken = facts.closeToken, keepAliveToken = facts.keepAliveToken
        head.expectContinue = facts.expectContinue
        head.length = i
        if transferEncoding && (contentLength != nil || head.isHTTP10) { return .failed(400) }
        if !head.isHTTP10 && hostCount != 1 { return .failed(400) }
        if hostCount > 1 { return .failed(400) }
        if chunked {
            head.body = .chunked
        } else if let length = contentLength, length > 0 {
            head.body = .length(length)
        }
        head.keepAlive = head.isHTTP10 ? (keepAliveToken && !closeToken) : !closeToken
        let method = ByteView(base: p + Int(head.methodStart), count: Int(head.methodEnd - head.methodStart))
        head.isHead = method == "HEAD"
        return .complete(head)
    }

    enum AbsoluteForm: Equatable {
        /// No scheme: "*", a relative path the handlers refuse: left as they were.
        case notAbsolute
        /// A scheme, but not an http(s) URI with a host: 400.
        case malformed
        /// Where the authority (host[:port]) ends is where the path starts.
        case path(authorityStart: Int, authorityEnd: Int)
    }

    /// Reads `scheme "://" authority` at the start of the target's path part
    /// (`start..<end`, the query excluded). Only http and https are served, and an http(s)
    /// URI without a host is invalid (RFC 9110 §4.2.1), as is userinfo (§4.2.4: the
    /// `@` is not an authority character here).
    static func absoluteForm(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> AbsoluteForm {
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) (RFC 3986 §3.1)
        var i = start
        while i < end
            && (ASCII.isAlpha(p[i])
                || i > start
                    && (ASCII.isDigit(p[i]) || p[i] == UInt8(ascii: "+")
                        || p[i] == UInt8(ascii: "-") || p[i] == UInt8(ascii: ".")))
        {
            i += 1
        }
        guard i > start, i < end, p[i] == ASCII.colon else { return .notAbsolute }
        let scheme = ByteView(base: p + start, count: i - start)
        guard scheme.equalsIgnoringCase("http") || scheme.equalsIgnoringCase("https"),
            i + 2 < end, p[i + 1] == UInt8(ascii: "/"), p[i + 2] == UInt8(ascii: "/")
        else { return .malformed }
        let authorityStart = i + 3
        var k = authorityStart
        while k < end && p[k] != UInt8(ascii: "/") { k += 1 }
        return isAuthority(p, authorityStart, k) ? .path(authorityStart: authorityStart, authorityEnd: k) : .malformed
    }

    /// host [":" port] (RFC 3986 §3.2.2): a non-empty reg-name or IPv4 address, or an IP
    /// literal in brackets; the port digits only, and a port TCP has (0...65535; an
    /// empty one is allowed, RFC 3986 §3.2.3).
    private static func isAuthority(_ p: UnsafePointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        var i = start
        if i < end && p[i] == UInt8(ascii: "[") {
            i += 1
            while i < end && (ASCII.hexValue(p[i]) != nil || p[i] == ASCII.colon || p[i] == UInt8(ascii: ".")) { i += 1 }
            guard i > start + 1, i < end, p[i] == UInt8(ascii: "]") else { return false }
            i += 1
        } else {
            while i < end && ASCII.isRegNameChar(p[i]) { i += 1 }
            guard i > start else { return false }
        }
        if i < end && p[i] == ASCII.colon {
            i += 1
            var port: UInt32 = 0
            while i < end && ASCII.isDigit(p[i]) {
                port = port * 10 + UInt32(p[i] &- 48)
                guard port <= 65_535 else { return false }
                i += 1
            }
        }
        return i == end
    }

    /// What the header lines said that framing and the connection depend on.
    struct HeaderFacts {
        var contentLength: UInt64? = nil
        var chunked = false
        var transferEncoding = false
        var hostCount = 0
        var closeToken = false
        var keepAliveToken = false
        var expectContinue = false
    }

    enum LinesResult { case incomplete, complete, failed(Int) }

    /// Parses header lines from `i` through the empty line (requests and responses share
    /// the rules): offsets to `fields` (431 past its size), framing facts to `facts`.
    /// On `.complete`, `i` is just past the empty line.
    static func parseHeaderLines(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ i: inout Int,
        fields: UnsafeMutableBufferPointer<HeaderField>, count: inout Int,
        facts: inout HeaderFacts, isHTTP10: Bool
    ) -> LinesResult {
        while true {
            guard i < n else { return .incomplete }
            if p[i] == ASCII.cr {
                guard i + 1 < n else { return .incomplete }
                guard p[i + 1] == ASCII.lf else { return .failed(400) }
                i += 2
                return .complete
            }
            guard !ASCII.isSpaceOrTab(p[i]) else { return .failed(400) }  // obs-fold
            let nameStart = i
            while i < n && ASCII.isTokenChar(p[i]) { i += 1 }
            if i == n { return .incomplete }
            guard p[i] == ASCII.colon, i > nameStart else { return .failed(400) }
            let nameEnd = i
            i += 1
            while i < n && ASCII.isSpaceOrTab(p[i]) { i += 1 }
            let valueStart = i
            // field-value: VCHAR, obs-text, SP, HTAB; ends at CRLF.
            while i < n {
                let c = p[i]
                if c < 0x20 && c != ASCII.tab || c == 0x7F { break }
                i += 1
            }
            if i == n { return .incomplete }
            guard p[i] == ASCII.cr else { return .failed(400) }
            if i + 1 == n { return .incomplete }
            guard p[i + 1] == ASCII.lf else { return .failed(400) }
            var valueEnd = i
            while valueEnd > valueStart && ASCII.isSpaceOrTab(p[valueEnd - 1]) { valueEnd -= 1 }
            i += 2

            guard count < fields.count else { return .failed(431) }
            fields[count] = HeaderField(
                nameStart: Int32(nameStart), nameLength: Int32(nameEnd - nameStart),
                valueStart: Int32(valueStart), valueLength: Int32(valueEnd - valueStart))
            count += 1

            let name = ByteView(base: p + nameStart, count: nameEnd - nameStart)
            let value = ByteView(base: p + valueStart, count: valueEnd - valueStart)
            switch name.count {
            case 4 where name.equalsIgnoringCase("host"):
                facts.hostCount += 1
            case 6 where name.equalsIgnoringCase("expect"):
                // RFC 9110 §10.1.1: a 1.0 client's expectation is ignored.
                if value.equalsIgnoringCase("100-continue") && !isHTTP10 { facts.expectContinue = true }
            case 10 where name.equalsIgnoringCase("connection"):
                if value.containsToken("close") { facts.closeToken = true }
                if value.containsToken("keep-alive") { facts.keepAliveToken = true }
            case 14 where name.equalsIgnoringCase("content-length"):
                switch WireNumber.decimal(value) {
                case let .value(length):
                    guard facts.contentLength == nil || facts.contentLength == length else { return .failed(400) }
                    facts.contentLength = length
                case .overflow:
                    return .failed(413)  // well-formed, but more than any board holds
                case .malformed:
                    return .failed(400)
                }
            case 17 where name.equalsIgnoringCase("transfer-encoding"):
                guard !facts.transferEncoding else { return .failed(400) }
                facts.transferEncoding = true
                guard value.equalsIgnoringCase("chunked") else { return .failed(501) }
                facts.chunked = true
            default:
                break
            }
        }
    }
}
