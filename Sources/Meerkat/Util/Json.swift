/// JSON without Foundation (the docs' `json_get…`): a scanner that checks a document and
/// reads a top-level key's string, number or boolean from a view without allocating (a
/// returned `String` is the one allocation); values deeper in, by path, in JsonPath.swift.
/// Writing: `JsonWriter`.
public enum Json {
    /// Whether `doc` is one valid JSON value (RFC 8259), nested at most 32 deep.
    public static func isValid(_ doc: ByteView) -> Bool {
        var i = skipSpace(doc, 0)
        guard let end = skipValue(doc, &i, depth: 0) else { return false }
        return skipSpace(doc, end) == doc.count
    }

    /// The raw value of `key` in the top-level object `doc` (nil when absent, or when
    /// `doc` is not a valid object).
    public static func value(_ doc: ByteView, _ key: StaticString) -> ByteView? {
        var i = skipSpace(doc, 0)
        guard i < doc.count, doc[i] == UInt8(ascii: "{") else { return nil }
        i = skipSpace(doc, i + 1)
        if i < doc.count && doc[i] == UInt8(ascii: "}") { return nil }
        while i < doc.count {
            let nameStart = i
            guard let nameEnd = skipString(doc, i) else { return nil }
            i = skipSpace(doc, nameEnd)
            guard i < doc.count, doc[i] == UInt8(ascii: ":") else { return nil }
            i = skipSpace(doc, i + 1)
            var at = i
            guard let valueEnd = skipValue(doc, &at, depth: 1) else { return nil }
            if nameMatches(doc.slice(nameStart + 1, nameEnd - 1), key) { return doc.slice(i, valueEnd) }
            i = skipSpace(doc, valueEnd)
            guard i < doc.count else { return nil }
            if doc[i] == UInt8(ascii: "}") { return nil }
            guard doc[i] == UInt8(ascii: ",") else { return nil }
            i = skipSpace(doc, i + 1)
        }
        return nil
    }

    /// The string value of `key`, unescaped (`\uXXXX` and surrogate pairs included).
    public static func string(_ doc: ByteView, _ key: StaticString) -> String? {
        guard let v = value(doc, key), v.count >= 2, v[0] == UInt8(ascii: "\"") else { return nil }
        return unescape(v.slice(1, v.count - 1))
    }

    public static func bool(_ doc: ByteView, _ key: StaticString) -> Bool? {
        guard let v = value(doc, key) else { return nil }
        if v == "true" { return true }
        if v == "false" { return false }
        return nil
    }

    /// The number value of `key` (integer, fraction, exponent).
    public static func number(_ doc: ByteView, _ key: StaticString) -> Double? {
        value(doc, key).flatMap(number(of:))
    }

    /// The value of `key` when it is a whole number written as digits, exact to 64 bits
    /// on every board (nil for a fraction, an exponent, or beyond `Int64`).
    public static func integer(_ doc: ByteView, _ key: StaticString) -> Int64? {
        value(doc, key).flatMap(integer(of:))
    }

    /// A raw number (integer, fraction, exponent) as a Double; nil when `v` is not one.
    /// Up to 19 digits are gathered exactly in a `UInt64`: a whole number is then
    /// rounded once (2^63 reads as 2^63), and so is one of up to 15 digits with a power
    /// of ten up to 10^22 (both exact as Doubles: the usual reading or setting). Longer
    /// ones are scaled step by step, within a few units of the last place.
    static func number(of v: ByteView) -> Double? {
        guard v.count > 0, v[0] == UInt8(ascii: "-") || ASCII.isDigit(v[0]) else { return nil }
        var i = 0, negative = false
        if v[0] == UInt8(ascii: "-") { negative = true; i = 1 }
        var mantissa = 0.0, scale = 0
        var exact: UInt64 = 0, digits = 0
        while i < v.count && ASCII.isDigit(v[i]) {
            mantissa = mantissa * 10 + Double(v[i] - 48)
            if digits < 20 { exact = exact &* 10 &+ UInt64(v[i] - 48) }
            digits += exact == 0 ? 0 : 1
            i += 1
        }
        if i < v.count && v[i] == UInt8(ascii: ".") {
            i += 1
            while i < v.count && ASCII.isDigit(v[i]) {
                mantissa = mantissa * 10 + Double(v[i] - 48)
                if digits < 20 { exact = exact &* 10 &+ UInt64(v[i] - 48) }
                digits += exact == 0 ? 0 : 1
                scale -= 1
                i += 1
            }
        }
        if i < v.count && (v[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            var sign = 1, exp = 0
            if i < v.count && (v[i] == UInt8(ascii: "-") || v[i] == UInt8(ascii: "+")) { sign = v[i] == UInt8(ascii: "-") ? -1 : 1; i += 1 }
            while i < v.count && ASCII.isDigit(v[i]) { exp = min(exp * 10 + Int(v[i] - 48), 9999); i += 1 }
            scale += sign * exp
        }
        var value = mantissa
        if digits <= 19 && scale == 0 {
            value = Double(exact)
        } else if digits <= 15 && scale >= -22 && scale <= 22 {
            value = scale < 0 ? Double(exact) / powerOfTen(-scale) : Double(exact) * powerOfTen(scale)
        } else {
            if scale > 0 { for _ in 0..<min(scale, 400) { value *= 10 } }
            if scale < 0 { for _ in 0..<min(-scale, 400) { value /= 10 } }
        }
        return negative ? -value : value
    }

    /// 10^n for n in 0...22, exact (every such power is a Double).
    private static func powerOfTen(_ n: Int) -> Double {
        var p = 1.0
        for _ in 0..<n { p *= 10 }
        return p
    }

    /// A raw number that is digits only (a "-" before them allowed), as an Int64: read
    /// as a `UInt64` with overflow checks, so a 32-bit board answers as a 64-bit one.
    static func integer(of v: ByteView) -> Int64? {
        let negative = v.count > 0 && v[0] == UInt8(ascii: "-")
        guard case let .value(magnitude) = WireNumber.decimal(v.slice(negative ? 1 : 0, v.count)) else { return nil }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    // MARK: Scanning

    static func skipSpace(_ d: ByteView, _ start: Int) -> Int {
        var i = start
        while i < d.count {
            switch d[i] {
            case 0x20, 0x09, 0x0A, 0x0D: i += 1
            default: return i
            }
        }
        return i
    }

    /// The end (one past) of the value at `i`, or nil when it is not valid JSON.
    static func skipValue(_ d: ByteView, _ i: inout Int, depth: Int) -> Int? {
        guard i < d.count, depth < 32 else { return nil }
        switch d[i] {
        case UInt8(ascii: "\""):
            return skipString(d, i)
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let object = d[i] == UInt8(ascii: "{")
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            var j = skipSpace(d, i + 1)
            if j < d.count && d[j] == close { return j + 1 }
            while j < d.count {
                if object {
                    guard let nameEnd = skipString(d, j) else { return nil }
                    j = skipSpace(d, nameEnd)
                    guard j < d.count, d[j] == UInt8(ascii: ":") else { return nil }
                    j = skipSpace(d, j + 1)
                }
                guard let end = skipValue(d, &j, depth: depth + 1) else { return nil }
                j = skipSpace(d, end)
                guard j < d.count else { return nil }
                if d[j] == close { return j + 1 }
                guard d[j] == UInt8(ascii: ",") else { return nil }
                j = skipSpace(d, j + 1)
            }
            return nil
        case UInt8(ascii: "t"): return literal(d, i, "true")
        case UInt8(ascii: "f"): return literal(d, i, "false")
        case UInt8(ascii: "n"): return literal(d, i, "null")
        default:
            return skipNumber(d, i)
        }
    }

    private static func literal(_ d: ByteView, _ i: Int, _ word: StaticString) -> Int? {
        let n = word.utf8CodeUnitCount
        guard i + n <= d.count, d.slice(i, i + n).equals(word.rawBuffer) else { return nil }
        return i + n
    }

    /// -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
    private static func skipNumber(_ d: ByteView, _ start: Int) -> Int? {
        var i = start
        if i < d.count && d[i] == UInt8(ascii: "-") { i += 1 }
        guard i < d.count, ASCII.isDigit(d[i]) else { return nil }
        if d[i] == UInt8(ascii: "0") { i += 1 } else { while i < d.count && ASCII.isDigit(d[i]) { i += 1 } }
        if i < d.count && d[i] == UInt8(ascii: ".") {
            i += 1
            guard i < d.count, ASCII.isDigit(d[i]) else { return nil }
            while i < d.count && ASCII.isDigit(d[i]) { i += 1 }
        }
        if i < d.count && (d[i] | 0x20) == UInt8(ascii: "e") {
            i += 1
            if i < d.count && (d[i] == UInt8(ascii: "+") || d[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < d.count, ASCII.isDigit(d[i]) else { return nil }
            while i < d.count && ASCII.isDigit(d[i]) { i += 1 }
        }
        return i
    }

    /// The end (one past the closing quote) of the string at `i`: no raw control bytes,
    /// only the escapes JSON has, valid UTF-8.
    static func skipString(_ d: ByteView, _ start: Int) -> Int? {
        guard start < d.count, d[start] == UInt8(ascii: "\"") else { return nil }
        var i = start + 1
        var utf8 = Utf8Validator()
        while i < d.count {
            let c = d[i]
            if c == UInt8(ascii: "\"") { return utf8.isComplete ? i + 1 : nil }
            if c < 0x20 { return nil }
            if c == UInt8(ascii: "\\") {
                guard i + 1 < d.count else { return nil }
                switch d[i + 1] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 2
                case UInt8(ascii: "u"):
                    guard i + 5 < d.count else { return nil }
                    for k in 2...5 where ASCII.hexValue(d[i + k]) == nil { return nil }
                    i += 6
                default:
                    return nil
                }
                continue
            }
            var byte = c
            guard utf8.feed(&byte, 1) else { return nil }
            i += 1
        }
        return nil
    }

    private static func nameMatches(_ raw: ByteView, _ key: StaticString) -> Bool {
        nameMatches(raw, ByteView(key.rawBuffer))
    }

    /// Whether a member name (between its quotes, already checked) is `key`. Plain
    /// names (the usual case) compare directly; one with escapes is compared as it
    /// unescapes, byte by byte, with nothing allocated.
    static func nameMatches(_ raw: ByteView, _ key: ByteView) -> Bool {
        if raw.firstIndex(of: UInt8(ascii: "\\")) == nil { return raw == key }
        var at = 0
        let whole = unescape(raw) { byte in
            guard at < key.count, key[at] == byte else { return false }
            at += 1
            return true
        }
        return whole && at == key.count
    }

    /// A string body (between the quotes, already checked) with its escapes resolved.
    static func unescape(_ raw: ByteView) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(raw.count)
        let whole = unescape(raw) { byte in
            out.append(byte)
            return true
        }
        return whole ? String(decoding: out, as: UTF8.self) : nil
    }

    /// Hands each byte of a string body (between the quotes, already checked) with its
    /// escapes resolved to `emit`, until it returns false. False then, or when an escape
    /// is a lone surrogate; true when every byte went.
    static func unescape(_ raw: ByteView, _ emit: (UInt8) -> Bool) -> Bool {
        var i = 0
        while i < raw.count {
            let c = raw[i]
            guard c == UInt8(ascii: "\\") else {
                guard emit(c) else { return false }
                i += 1
                continue
            }
            let e = raw[i + 1]
            i += 2
            var byte = e
            switch e {
            case UInt8(ascii: "b"): byte = 8
            case UInt8(ascii: "f"): byte = 12
            case UInt8(ascii: "n"): byte = 10
            case UInt8(ascii: "r"): byte = 13
            case UInt8(ascii: "t"): byte = 9
            case UInt8(ascii: "u"):
                var code = hex4(raw, i)
                i += 4
                if code >= 0xD800 && code < 0xDC00 {  // a surrogate pair, or nothing valid
                    guard i + 6 <= raw.count, raw[i] == UInt8(ascii: "\\"), raw[i + 1] == UInt8(ascii: "u") else { return false }
                    let low = hex4(raw, i + 2)
                    guard low >= 0xDC00 && low < 0xE000 else { return false }
                    code = 0x10000 + (code - 0xD800) << 10 + (low - 0xDC00)
                    i += 6
                } else if code >= 0xDC00 && code < 0xE000 {
                    return false
                }
                guard emitUTF8(code, emit) else { return false }
                continue
            default: break
            }
            guard emit(byte) else { return false }
        }
        return true
    }

    private static func hex4(_ d: ByteView, _ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | UInt32(ASCII.hexValue(d[at + k]) ?? 0) }
        return v
    }

    private static func emitUTF8(_ c: UInt32, _ emit: (UInt8) -> Bool) -> Bool {
        switch c {
        case 0..<0x80: return emit(UInt8(c))
        case 0x80..<0x800: return emit(UInt8(0xC0 | c >> 6)) && emit(UInt8(0x80 | c & 0x3F))
        case 0x800..<0x10000:
            return emit(UInt8(0xE0 | c >> 12)) && emit(UInt8(0x80 | c >> 6 & 0x3F)) && emit(UInt8(0x80 | c & 0x3F))
        default:
            return emit(UInt8(0xF0 | c >> 18)) && emit(UInt8(0x80 | c >> 12 & 0x3F)) && emit(UInt8(0x80 | c >> 6 & 0x3F))
                && emit(UInt8(0x80 | c & 0x3F))
        }
    }
}
