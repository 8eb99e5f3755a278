/// Writes one JSON object into a caller's fixed buffer: `{"key": value, …}`, strings
/// escaped (quote, backslash, control characters; UTF-8 passed through). Check
/// `overflowed` (or that `finish()` is not nil) before sending.
public struct JsonWriter {
    private var w: ByteWriter
    private var fields = 0

    public init(into buffer: UnsafeMutableRawBufferPointer) {
        w = ByteWriter(base: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), capacity: buffer.count)
        w.append(byte: UInt8(ascii: "{"))
    }

    public var overflowed: Bool { w.overflowed }

    public mutating func add(_ key: StaticString, _ value: some ByteSource) {
        name(key)
        value.withBytes { quoted($0) }
    }

    public mutating func add(_ key: StaticString, _ value: Int) {
        name(key)
        if value < 0 { w.append(byte: UInt8(ascii: "-")) }
        w.append(decimal: UInt64(value.magnitude))
    }

    /// A 64-bit count (a file size on a 32-bit board).
    public mutating func add(_ key: StaticString, _ value: UInt64) {
        name(key)
        w.append(decimal: value)
    }

    public mutating func add(_ key: StaticString, _ value: Bool) {
        name(key)
        w.append(value ? "true" : "false")
    }

    /// A number with `fractionDigits` (0 to 18) digits after the point, rounded (e.g. a
    /// timestamp). JSON has no NaN or infinity: those, and a value of 2^63 or more, are
    /// written `null`. A value whose digits would pass 2^63 (19 digits, more than a
    /// Double holds) is written with as many fraction digits as fit.
    public mutating func add(_ key: StaticString, _ value: Double, fractionDigits: Int) {
        name(key)
        let limit = 9_223_372_036_854_775_808.0  // 2^63: Int64(x) traps from here on
        guard value.isFinite, value.magnitude < limit else { return w.append("null") }
        var digits = min(max(fractionDigits, 0), 18)
        var scale: Int64 = 1
        for _ in 0..<digits { scale *= 10 }
        while digits > 0 && value.magnitude * Double(scale) + 0.5 >= limit {
            digits -= 1
            scale /= 10
        }
        let scaled = Int64(value.magnitude * Double(scale) + 0.5)
        if value < 0 && scaled > 0 { w.append(byte: UInt8(ascii: "-")) }
        w.append(decimal: UInt64(scaled / scale))
        guard digits > 0 else { return }
        w.append(byte: UInt8(ascii: "."))
        let fraction = scaled % scale
        var divisor = scale / 10
        while divisor > 0 {
            w.append(byte: UInt8(48 + (fraction / divisor) % 10))
            divisor /= 10
        }
    }

    /// A number as Swift writes it, in the fewest digits that read back as the same
    /// Double (`0.1`, `1e+300`); NaN and infinity as `null`. Its text is a `String` (on
    /// the heap past 15 bytes): where each message counts, `add(_:_:fractionDigits:)`.
    public mutating func add(_ key: StaticString, _ value: Double) {
        name(key)
        guard value.isFinite else { return w.append("null") }
        var text = value.description
        text.withUTF8 { w.append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func addNull(_ key: StaticString) {
        name(key)
        w.append("null")
    }

    /// A nested object: `body` adds its fields.
    public mutating func add(_ key: StaticString, object body: (inout JsonWriter) -> Void) {
        name(key)
        w.append(byte: UInt8(ascii: "{"))
        let outer = fields
        fields = 0
        body(&self)
        w.append(byte: UInt8(ascii: "}"))
        fields = outer
    }

    /// Closes the object; the JSON text, or nil when it did not fit the buffer.
    public mutating func finish() -> ByteView? {
        w.append(byte: UInt8(ascii: "}"))
        return w.overflowed ? nil : ByteView(w.written)
    }

    private mutating func name(_ key: StaticString) {
        if fields > 0 { w.append(", ") }
        fields += 1
        quoted(key.rawBuffer)
        w.append(": ")
    }

    private mutating func quoted(_ s: UnsafeRawBufferPointer) {
        let hex: StaticString = "0123456789abcdef"
        w.append(byte: UInt8(ascii: "\""))
        var runStart = 0
        for (i, c) in s.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
            w.append(UnsafeRawBufferPointer(rebasing: s[runStart..<i]))
            runStart = i + 1
            switch c {
            case UInt8(ascii: "\""): w.append("\\\"")
            case UInt8(ascii: "\\"): w.append("\\\\")
            case 10: w.append("\\n")
            case 13: w.append("\\r")
            case 9: w.append("\\t")
            default:
                w.append("\\u00")
                w.append(byte: hex.utf8Start[Int(c >> 4)])
                w.append(byte: hex.utf8Start[Int(c & 15)])
            }
        }
        w.append(UnsafeRawBufferPointer(rebasing: s[runStart...]))
        w.append(byte: UInt8(ascii: "\""))
    }
}
