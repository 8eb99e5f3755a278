/// A reply read by `TestChannel`: status, headers (in order) and the body (de-chunked).
public struct TestReply {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that name (any case), or nil. Compared as the server compares
    /// header names (`ByteView.equalsIgnoringCase`, ASCII only): `lowercased()` would link
    /// the Unicode tables (about 640 KiB) into every firmware, since this file is part of
    /// the library (test_size.py fails when they come back).
    public func header(_ name: String) -> String? {
        var wanted = name
        return wanted.withUTF8 { w in
            headers.first { h in
                var candidate = h.name
                return candidate.withUTF8 { ByteView(UnsafeRawBufferPointer($0)).equalsIgnoringCase(UnsafeRawBufferPointer(w)) }
            }?.value
        }
    }

    /// (bytes used, the reply) once a whole reply is at the front of `bytes`; (0, nil)
    /// while it is incomplete; (-1, nil) when it is not HTTP/1.1.
    static func parse(_ bytes: [UInt8], requestWasHead: Bool, atEnd: Bool) -> (Int, TestReply?) {
        var copy = bytes
        return copy.withUnsafeMutableBytes { buf -> (Int, TestReply?) in
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
            return (used, TestReply(status: r.status, headers: headers, body: Array(rest[0..<bodyLength])))
        }
    }
}
