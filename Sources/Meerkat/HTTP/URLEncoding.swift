/// Percent-encoding as URLs and `application/x-www-form-urlencoded` bodies use it: the
/// docs' `url_encode`, and the decoding behind `queryVar` and `formVar`, public for any
/// bytes.
public enum URLEncoding {
    /// Percent-decodes `bytes` ('+' becomes a space, as in a query or a form; pass
    /// `plusAsSpace: false` for a path segment, where '+' is itself). Nil for a bad escape.
    public static func decode(_ bytes: some ByteSource, plusAsSpace: Bool = true) -> String? {
        bytes.withBytes { decode(ByteView($0), plusAsSpace: plusAsSpace) }
    }

    static func decode(_ view: ByteView, plusAsSpace: Bool = true) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(view.count)
        var i = 0
        while i < view.count {
            let c = view[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < view.count, let hi = ASCII.hexValue(view[i + 1]), let lo = ASCII.hexValue(view[i + 2]) else {
                    return nil
                }
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(c == UInt8(ascii: "+") && plusAsSpace ? UInt8(ascii: " ") : c)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The decoded value of `name` among the `&`-separated `name=value` pairs of `form`
    /// (a query string or a form body); nil when absent or badly encoded.
    public static func value(of name: StaticString, in form: some ByteSource) -> String? {
        form.withBytes { value(of: name.rawBuffer, in: ByteView($0)) }
    }

    public static func value(of name: String, in form: some ByteSource) -> String? {
        var copy = name
        return copy.withUTF8 { n in form.withBytes { value(of: UnsafeRawBufferPointer(n), in: ByteView($0)) } }
    }

    static func value(of name: UnsafeRawBufferPointer, in query: ByteView) -> String? {
        var found: String? = nil
        forEachRawPair(query) { key, value in
            guard key.equals(name) else { return true }
            found = decode(value)
            return false
        }
        return found
    }

    /// Every `name=value` pair of `form` (a query string or an
    /// `application/x-www-form-urlencoded` body), both decoded, in order; a pair with a
    /// bad escape is skipped. Stops when `body` returns false.
    public static func forEachPair(in form: some ByteSource, _ body: (_ name: String, _ value: String) -> Bool) {
        form.withBytes { bytes in
            forEachRawPair(ByteView(bytes)) { key, value in
                guard let k = decode(key), let v = decode(value) else { return true }
                return body(k, v)
            }
        }
    }

    /// The `&`-separated pairs of a form as raw views (a pair without "=" has an empty
    /// value), until `body` returns false.
    static func forEachRawPair(_ form: ByteView, _ body: (ByteView, ByteView) -> Bool) {
        var start = 0
        while start < form.count {
            let end = form.firstIndex(of: UInt8(ascii: "&"), from: start) ?? form.count
            let pair = form.slice(start, end)
            let eq = pair.firstIndex(of: UInt8(ascii: "=")) ?? pair.count
            if pair.count > 0 && !body(pair.slice(0, eq), pair.slice(eq + 1, pair.count)) { return }
            start = end + 1
        }
    }

    /// Percent-encodes everything but unreserved characters.
    public static func encode(_ text: String) -> String {
        let hex: StaticString = "0123456789ABCDEF"
        var out: [UInt8] = []
        for c in text.utf8 {
            switch c {
            case 48...57, 65...90, 97...122, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(c)
            default:
                out.append(UInt8(ascii: "%"))
                out.append(hex.utf8Start[Int(c >> 4)])
                out.append(hex.utf8Start[Int(c & 15)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The docs' `url_encode`.
public func urlEncode(_ text: String) -> String { URLEncoding.encode(text) }
