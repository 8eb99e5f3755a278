/// A parsed request, as views into the connection's receive buffer (the docs'
/// `HttpMessage`). Valid only during the handler call that received it; nothing is
/// copied unless a `String` is asked for (`text`, `queryVar`, `.string` of a view).
public struct HttpMessage {
    let base: UnsafePointer<UInt8>
    let head: RequestHead
    let fields: UnsafeBufferPointer<HeaderField>
    /// The body (decoded if it came chunked; empty when it was streamed).
    public let body: ByteView

    init(base: UnsafePointer<UInt8>, head: RequestHead, fields: UnsafeBufferPointer<HeaderField>, body: ByteView) {
        self.base = base
        self.head = head
        self.fields = UnsafeBufferPointer(rebasing: fields[0..<head.headerCount])
        self.body = body
    }

    private func view(_ from: Int32, _ to: Int32) -> ByteView {
        ByteView(base: base + Int(from), count: Int(to - from))
    }

    public var method: ByteView { view(head.methodStart, head.methodEnd) }
    /// The path, without the query string (as in the docs). For an absolute-form target
    /// ("GET http://host/a?b HTTP/1.1", RFC 9112 §3.2.2) the path alone: "/a" ("/" for
    /// "http://host").
    public var uri: ByteView { view(head.pathStart, head.pathEnd) }
    /// The host the request is for: an absolute-form target's authority, which RFC 9112
    /// §3.2.2 says wins over the Host header, else the Host header (nil without one).
    public var host: ByteView? {
        head.authorityEnd > head.authorityStart ? view(head.authorityStart, head.authorityEnd) : header("Host")
    }
    /// The query string, without '?'.
    public var query: ByteView { view(head.queryStart, head.targetEnd) }
    public var proto: ByteView { view(head.protoStart, head.protoEnd) }
    /// The body as text (a copy; invalid UTF-8 is repaired).
    public var text: String { body.string }
    /// The request head as received, through the blank line.
    public var headBytes: ByteView { view(0, Int32(head.length)) }
    public var isHead: Bool { head.isHead }
    public var keepAlive: Bool { head.keepAlive }
    /// The body's declared length (Content-Length, already parsed into 64 bits with its
    /// overflow checked), or nil for a chunked body or none: what a streamed body will
    /// hold, known at `.httpHeaders`.
    public var contentLength: UInt64? {
        if case let .length(n) = head.body { return n }
        return nil
    }

    /// The first header named `name` (any case), or nil.
    public func header(_ name: StaticString) -> ByteView? { header(name.rawBuffer) }

    public func header(_ name: String) -> ByteView? {
        var copy = name
        return copy.withUTF8 { header(UnsafeRawBufferPointer($0)) }
    }

    /// The header's value, or `defaultValue` (the docs' `header(name, default)`).
    public func header(_ name: StaticString, default defaultValue: String) -> String {
        header(name)?.string ?? defaultValue
    }

    func header(_ name: UnsafeRawBufferPointer) -> ByteView? {
        for f in fields where Int(f.nameLength) == name.count {
            if view(f.nameStart, f.nameStart + f.nameLength).equalsIgnoringCase(name) {
                return view(f.valueStart, f.valueStart + f.valueLength)
            }
        }
        return nil
    }

    /// How many header lines are named `name` (any case): for the fields that must
    /// appear once (RFC 6455's Sec-WebSocket-Key, -Accept, -Protocol in a 101…).
    public func headerCount(_ name: StaticString) -> Int {
        var n = 0
        for f in fields where Int(f.nameLength) == name.utf8CodeUnitCount {
            if view(f.nameStart, f.nameStart + f.nameLength).equalsIgnoringCase(name) { n += 1 }
        }
        return n
    }

    /// Every header as (name, value) views, in order.
    public var headers: HeaderList { HeaderList(message: self) }

    public struct HeaderList: Sequence {
        let message: HttpMessage
        public var count: Int { message.fields.count }

        public func makeIterator() -> Iterator { Iterator(message: message, index: 0) }

        public struct Iterator: IteratorProtocol {
            let message: HttpMessage
            var index: Int
            public mutating func next() -> (name: ByteView, value: ByteView)? {
                guard index < message.fields.count else { return nil }
                let f = message.fields[index]
                index += 1
                return (
                    message.view(f.nameStart, f.nameStart + f.nameLength),
                    message.view(f.valueStart, f.valueStart + f.valueLength)
                )
            }
        }
    }

    /// The URL-decoded value of query parameter `name`, or nil when absent or badly
    /// encoded (the docs' `query_var`).
    public func queryVar(_ name: StaticString) -> String? {
        URLEncoding.value(of: name.rawBuffer, in: query)
    }

    public func queryVar(_ name: String) -> String? {
        URLEncoding.value(of: name, in: query)
    }

    /// The URL-decoded value of `name` in an `application/x-www-form-urlencoded` body,
    /// or nil when absent or badly encoded (the body's `queryVar`; Mongoose's
    /// `mg_http_get_var` on the body).
    public func formVar(_ name: StaticString) -> String? {
        URLEncoding.value(of: name.rawBuffer, in: body)
    }

    public func formVar(_ name: String) -> String? {
        URLEncoding.value(of: name, in: body)
    }

    /// The `key=value` parameter inside a header value, e.g. `headerVar("Content-Type",
    /// "charset")` (the docs' `header_var`).
    public func headerVar(_ header: StaticString, _ key: StaticString) -> ByteView? {
        guard let value = self.header(header) else { return nil }
        var start = 0
        while start < value.count {
            let end = value.firstIndex(of: UInt8(ascii: ";"), from: start) ?? value.count
            let part = value.slice(start, end).trimmingSpaces()
            if let eq = part.firstIndex(of: UInt8(ascii: "=")),
                part.slice(0, eq).trimmingSpaces().equalsIgnoringCase(key)
            {
                var v = part.slice(eq + 1, part.count).trimmingSpaces()
                if v.count >= 2 && v[0] == UInt8(ascii: "\"") && v[v.count - 1] == UInt8(ascii: "\"") {
                    v = v.slice(1, v.count - 1)
                }
                return v
            }
            start = end + 1
        }
        return nil
    }
}
