/// Writes one JSON object into a caller's fixed buffer: `{"key": value, …}`, with nested
/// objects (`add(_:object:)`) and arrays (`addArray(_:_:)`, whose elements are written
/// with `append`), strings escaped (quote, backslash, control characters; UTF-8 passed
/// through). Check
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
        write(value)
    }

    public mutating func add(_ key: StaticString, _ value: Int) {
        name(key)
        write(value)
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
        write(value, fractionDigits: fractionDigits)
    }

    /// A number as Swift writes it, in the fewest digits that read back as the same
    /// Double (`0.1`, `1e+300`); NaN and infinity as `null`. Its text is a `String` (on
    /// the heap past 15 bytes): where each message counts, `add(_:_:fractionDigits:)`.
    public mutating func add(_ key: StaticString, _ value: Double) {
        name(key)
        write(value)
    }

    public mutating func addNull(_ key: StaticString) {
        name(key)
        w.append("null")
    }

    /// A nested object: `body` adds its fields.
    public mutating func add(_ key: StaticString, object body: (inout JsonWriter) -> Void) {
        name(key)
        nested("{", "}", body)
    }

    /// An array: `body` appends its elements with `append` (`appendObject` for an
    /// object element), e.g. `json.addArray("temps") { for t in temps { $0.append(t, fractionDigits: 1) } }`.
    public mutating func addArray(_ key: StaticString, _ body: (inout JsonWriter) -> Void) {
        name(key)
        nested("[", "]", body)
    }

    // MARK: Array elements (inside `addArray(_:_:)`)

    public mutating func append(_ value: some ByteSource) {
        element()
        write(value)
    }

    public mutating func append(_ value: Int) {
        element()
        write(value)
    }

    public mutating func append(_ value: Bool) {
        element()
        w.append(value ? "true" : "false")
    }

    /// As `add(_:_:fractionDigits:)`: NaN, ±inf and 2^63 or more as `null`.
    public mutating func append(_ value: Double, fractionDigits: Int) {
        element()
        write(value, fractionDigits: fractionDigits)
    }

    /// As `add(_:_:)` for a Double.
    public mutating func append(_ value: Double) {
        element()
        write(value)
    }

    public mutating func appendNull() {
        element()
        w.append("null")
    }

    /// An object element: `body` adds its fields.
    public mutating func appendObject(_ body: (inout JsonWriter) -> Void) {
        element()
        nested("{", "}", body)
    }

    /// An array element: `body` appends its elements.
    public mutating func appendArray(_ body: (inout JsonWriter) -> Void) {
        element()
        nested("[", "]", body)
    }

    /// Closes the object; the JSON text, or nil when it did not fit the buffer.
    public mutating func finish() -> ByteView? {
        w.append(byte: UInt8(ascii: "}"))
        return w.overflowed ? nil : ByteView(w.written)
    }

    private mutating func write(_ value: some ByteSource) {
        value.withBytes { quoted($0) }
    }

    private mutating func write(_ value: Int) {
        if value < 0 { w.append(byte: UInt8(ascii: "-")) }
        w.append(decimal: UInt64(value.magnitude))
    }

    private mutating func write(_ value: Double, fractionDigits: Int) {
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

    private mutating func write(_ value: Double) {
        guard value.isFinite else { return w.append("null") }
        var text = value.description
        text.withUTF8 { w.append(UnsafeRawBufferPointer($0)) }
    }

    private mutating func nested(_ open: StaticString, _ close: StaticString, _ body: (inout JsonWriter) -> Void) {
        w.append(open)
        let outer = fields
        fields = 0
        body(&self)
        w.append(close)
        fields = outer
    }

    /// The separator before an array element.
    private mutating func element() {
        if fields > 0 { w.append(", ") }
        fields += 1
    }

    private mutating func name(_ key: StaticString) {
        element()
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
