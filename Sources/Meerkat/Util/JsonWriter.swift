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
        w.append(decimal: value < 0 ? 0 &- value : value)
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

    /// A number with `fractionDigits` digits after the point (e.g. a timestamp).
    public mutating func add(_ key: StaticString, _ value: Double, fractionDigits: Int) {
        name(key)
        var v = value
        if v < 0 { w.append(byte: UInt8(ascii: "-")); v = -v }
        var scale = 1.0
        for _ in 0..<fractionDigits { scale *= 10 }
        let scaled = Int64(v * scale + 0.5)
        let whole = scaled / Int64(scale), fraction = scaled % Int64(scale)
        w.append(decimal: Int(whole))
        guard fractionDigits > 0 else { return }
        w.append(byte: UInt8(ascii: "."))
        var divisor = Int64(scale) / 10
        while divisor > 0 {
            w.append(byte: UInt8(48 + (fraction / divisor) % 10))
            divisor /= 10
        }
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
