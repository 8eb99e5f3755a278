@_spi(Testing) import Meerkat

/// A reply read by `TestChannel`: status, headers (in order) and the body (de-chunked).
public struct TestReply {
    public let status: Int
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// The first header of that name (any case), or nil. Compared as the server compares
    /// header names (`ByteView.equalsIgnoringCase`, ASCII only): `lowercased()` would link
    /// the Unicode tables (about 640 KiB) into an app's tests and, were this file ever in the
    /// library again, into every firmware (test_size.py fails when they come back).
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
        let (used, r) = TestWire.parseReply(bytes, requestWasHead: requestWasHead, atEnd: atEnd)
        return (used, r.map { TestReply(status: $0.status, headers: $0.headers, body: $0.body) })
    }
}
