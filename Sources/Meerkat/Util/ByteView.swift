import CMeerkat

/// A read-only window onto bytes owned by someone else (usually a connection's receive
/// buffer). It never copies; `string` and `bytes` copy on request. A view handed to a
/// handler is valid only during that handler call.
public struct ByteView {
    public let base: UnsafePointer<UInt8>?
    public let count: Int

    public init(base: UnsafePointer<UInt8>?, count: Int) {
        self.base = base
        self.count = count
    }

    public init(_ buffer: UnsafeRawBufferPointer) {
        self.base = buffer.baseAddress?.assumingMemoryBound(to: UInt8.self)
        self.count = buffer.count
    }

    public static let empty = ByteView(base: nil, count: 0)

    public var isEmpty: Bool { count == 0 }

    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    public subscript(i: Int) -> UInt8 {
        precondition(i >= 0 && i < count)
        return base![i]
    }

    /// The bytes from `from` to `to` (half-open), clamped to this view.
    public func slice(_ from: Int, _ to: Int) -> ByteView {
        let lo = max(0, min(from, count)), hi = max(lo, min(to, count))
        return ByteView(base: base.map { $0 + lo }, count: hi - lo)
    }

    /// A copy as a String (invalid UTF-8 is repaired, never trusted).
    public var string: String { String(decoding: buffer, as: UTF8.self) }
    /// A copy as an array.
    public var bytes: [UInt8] { Array(buffer) }

    public func firstIndex(of byte: UInt8, from start: Int = 0) -> Int? {
        var i = start
        while i < count {
            if base![i] == byte { return i }
            i += 1
        }
        return nil
    }

    /// Byte-wise equality with `other`.
    public func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        if count == 0 { return true }
        return memcmp(base!, other.baseAddress!, count) == 0
    }

    /// ASCII case-insensitive equality, as header names and tokens compare.
    public func equalsIgnoringCase(_ other: UnsafeRawBufferPointer) -> Bool {
        guard other.count == count else { return false }
        var i = 0
        while i < count {
            if ASCII.lower(base![i]) != ASCII.lower(other[i]) { return false }
            i += 1
        }
        return true
    }

    public func equalsIgnoringCase(_ other: StaticString) -> Bool {
        equalsIgnoringCase(other.rawBuffer)
    }

    /// True when the comma-separated list in this view holds `token` (any case), as in
    /// `Connection: keep-alive, Upgrade`.
    public func containsToken(_ token: StaticString) -> Bool {
        var start = 0
        while start <= count {
            let end = firstIndex(of: UInt8(ascii: ","), from: start) ?? count
            if slice(start, end).trimmingSpaces().equalsIgnoringCase(token) { return true }
            start = end + 1
        }
        return false
    }

    /// This view without leading and trailing spaces and tabs.
    public func trimmingSpaces() -> ByteView {
        var lo = 0, hi = count
        while lo < hi && ASCII.isSpaceOrTab(base![lo]) { lo += 1 }
        while hi > lo && ASCII.isSpaceOrTab(base![hi - 1]) { hi -= 1 }
        return slice(lo, hi)
    }

    public func hasPrefix(_ prefix: StaticString) -> Bool {
        prefix.utf8CodeUnitCount <= count && slice(0, prefix.utf8CodeUnitCount).equals(prefix.rawBuffer)
    }
}

extension ByteView: Equatable {
    public static func == (lhs: ByteView, rhs: ByteView) -> Bool { lhs.equals(rhs.buffer) }
    public static func == (lhs: ByteView, rhs: StaticString) -> Bool { lhs.equals(rhs.rawBuffer) }
    public static func != (lhs: ByteView, rhs: StaticString) -> Bool { !(lhs == rhs) }
    public static func == (lhs: ByteView, rhs: String) -> Bool {
        var copy = rhs
        return copy.withUTF8 { lhs.equals(UnsafeRawBufferPointer($0)) }
    }
    public static func != (lhs: ByteView, rhs: String) -> Bool { !(lhs == rhs) }
}

extension StaticString {
    /// The literal's UTF-8 bytes.
    var rawBuffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: utf8Start, count: utf8CodeUnitCount)
    }
}

/// Byte classes used by the parsers.
enum ASCII {
    static let cr: UInt8 = 13, lf: UInt8 = 10, space: UInt8 = 32, tab: UInt8 = 9, colon: UInt8 = 58

    @inline(__always) static func lower(_ c: UInt8) -> UInt8 { (c >= 65 && c <= 90) ? c | 0x20 : c }
    @inline(__always) static func isSpaceOrTab(_ c: UInt8) -> Bool { c == space || c == tab }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
    @inline(__always) static func isAlpha(_ c: UInt8) -> Bool { c | 0x20 >= 97 && c | 0x20 <= 122 }

    /// RFC 3986 reg-name: unreserved (letters, digits, - . _ ~), % of pct-encoded, and
    /// the sub-delims ! $ & ' ( ) * + , ; =.
    static func isRegNameChar(_ c: UInt8) -> Bool {
        if isAlpha(c) || isDigit(c) { return true }
        switch c {
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "%"),
            UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), UInt8(ascii: ";"),
            UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// Value of a hex digit, or nil.
    @inline(__always) static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 65...70: return c - 55
        case 97...102: return c - 87
        default: return nil
        }
    }

    /// RFC 9110 tchar: the characters of a token (method, header name): digits, letters
    /// and ! # $ % & ' * + - . ^ _ ` | ~. A bit test instead of a switch because the
    /// parser asks it for every byte of every header name (issue 13's profile).
    @inline(__always) static func isTokenChar(_ c: UInt8) -> Bool {
        let below64: UInt64 = 0x03FF_6CFA_0000_0000  // bit c set for tchar c < 64
        let from64: UInt64 = 0x57FF_FFFF_C7FF_FFFE  // bit c - 64 set for tchar 64 ≤ c < 128
        if c < 64 { return below64 >> UInt64(c) & 1 != 0 }
        return c < 128 && from64 >> UInt64(c &- 64) & 1 != 0
    }
}

extension Optional where Wrapped == ByteView {
    /// `hm.header("Upgrade") == "websocket"` reads naturally: nil equals no literal.
    public static func == (lhs: ByteView?, rhs: StaticString) -> Bool { lhs.map { $0 == rhs } ?? false }
    public static func != (lhs: ByteView?, rhs: StaticString) -> Bool { !(lhs == rhs) }
}
