/// Values anywhere in a document, by path (Mongoose's `mg_json_get(json, "$.a[1].b")`):
/// `$` is the whole document, `.name` a member of an object, `[n]` an element of an
/// array (from 0), in any order and depth: `$.sensors[2].reading`. Names are matched
/// unescaped; a name cannot hold `.` or `[`. The lookup walks the document's bytes in
/// place: nothing is allocated (a returned `String` aside), the depth is bounded by
/// the document's (at most 32, `isValid`), and a malformed document or path is nil,
/// never a trap. Indices are read as `UInt64` with overflow checks, so a 32-bit board
/// answers as a 64-bit one.
extension Json {
    /// What a JSON value is.
    public enum Kind: Equatable, CustomStringConvertible {
        case object, array, string, number, bool, null

        /// Its name ("object", "array", …): Embedded Swift prints a plain enum as
        /// "(cannot print value in embedded Swift)".
        public var description: String {
            switch self {
            case .object: return "object"
            case .array: return "array"
            case .string: return "string"
            case .number: return "number"
            case .bool: return "bool"
            case .null: return "null"
            }
        }
    }

    /// A value found by path: its bytes as they stand in the document (a string with its
    /// quotes, an object with its braces), where it starts, and what it is.
    public struct Token {
        public let raw: ByteView
        /// Bytes from the start of the document (Mongoose's offset; `raw.count` is its length).
        public let offset: Int
        public let kind: Kind
    }

    /// The value at `path` in `doc`, or nil when the document is not valid JSON, the
    /// path is malformed, or nothing is there.
    public static func find(_ doc: ByteView, path: some ByteSource) -> Token? {
        guard isValid(doc) else { return nil }
        return path.withBytes { walk(doc, ByteView($0)) }
    }

    /// The raw value at `path` (nil as for `find`).
    public static func value(_ doc: ByteView, path: some ByteSource) -> ByteView? {
        find(doc, path: path)?.raw
    }

    /// The string at `path`, unescaped (nil when absent or not a string).
    public static func string(_ doc: ByteView, path: some ByteSource) -> String? {
        guard let t = find(doc, path: path), t.kind == .string else { return nil }
        return unescape(t.raw.slice(1, t.raw.count - 1))
    }

    /// The number at `path` (nil when absent or not a number).
    public static func number(_ doc: ByteView, path: some ByteSource) -> Double? {
        guard let t = find(doc, path: path), t.kind == .number else { return nil }
        return number(of: t.raw)
    }

    /// The whole number at `path`, exact to 64 bits on every board: nil when absent,
    /// not a number, written with a fraction or an exponent, or beyond `Int64`.
    public static func integer(_ doc: ByteView, path: some ByteSource) -> Int64? {
        guard let t = find(doc, path: path), t.kind == .number else { return nil }
        return integer(of: t.raw)
    }

    public static func bool(_ doc: ByteView, path: some ByteSource) -> Bool? {
        guard let t = find(doc, path: path), t.kind == .bool else { return nil }
        return t.raw[0] == UInt8(ascii: "t")
    }

    /// How many elements the array (or members the object) at `path` has: the bound
    /// of a loop over `$.list[i]`. Nil when absent or neither.
    public static func count(_ doc: ByteView, path: some ByteSource) -> Int? {
        guard let t = find(doc, path: path), t.kind == .array || t.kind == .object else { return nil }
        var n = 0
        _ = forEachItem(doc, at: t.offset) { _ in
            n += 1
            return false
        }
        return n
    }

    // MARK: The walk (on a document already checked)

    private static func walk(_ doc: ByteView, _ path: ByteView) -> Token? {
        guard path.count > 0, path[0] == UInt8(ascii: "$") else { return nil }
        var start = skipSpace(doc, 0)
        var p = 1
        while p < path.count {
            let found: (start: Int, end: Int)?
            if path[p] == UInt8(ascii: ".") {
                var q = p + 1
                while q < path.count && path[q] != UInt8(ascii: ".") && path[q] != UInt8(ascii: "[") { q += 1 }
                guard q > p + 1, doc[start] == UInt8(ascii: "{") else { return nil }
                let name = path.slice(p + 1, q)
                found = forEachItem(doc, at: start) { member in nameMatches(member, name) }
                p = q
            } else if path[p] == UInt8(ascii: "[") {
                var q = p + 1
                while q < path.count && ASCII.isDigit(path[q]) { q += 1 }
                guard q < path.count, path[q] == UInt8(ascii: "]"), doc[start] == UInt8(ascii: "["),
                    case let .value(index) = WireNumber.decimal(path.slice(p + 1, q))
                else { return nil }
                var at: UInt64 = 0
                found = forEachItem(doc, at: start) { _ in
                    defer { at += 1 }
                    return at == index
                }
                p = q + 1
            } else {
                return nil
            }
            guard let found else { return nil }
            start = found.start
        }
        var end = start
        guard let valueEnd = skipValue(doc, &end, depth: 0) else { return nil }
        return Token(raw: doc.slice(start, valueEnd), offset: start, kind: kind(of: doc[start]))
    }

    /// Calls `stop` with each item of the object or array that starts at `open` (a
    /// member's name between its quotes; an empty view in an array) until it says
    /// stop; returns that item's value span, or nil when none did.
    private static func forEachItem(_ doc: ByteView, at open: Int, _ stop: (_ name: ByteView) -> Bool) -> (start: Int, end: Int)? {
        let object = doc[open] == UInt8(ascii: "{")
        let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
        var i = skipSpace(doc, open + 1)
        while i < doc.count && doc[i] != close {
            var name = doc.slice(i, i)
            if object {
                guard let nameEnd = skipString(doc, i) else { return nil }
                name = doc.slice(i + 1, nameEnd - 1)
                i = skipSpace(doc, skipSpace(doc, nameEnd) + 1)  // past the ':'
            }
            var end = i
            guard let valueEnd = skipValue(doc, &end, depth: 0) else { return nil }
            if stop(name) { return (i, valueEnd) }
            i = skipSpace(doc, valueEnd)
            if i < doc.count && doc[i] == UInt8(ascii: ",") { i = skipSpace(doc, i + 1) }
        }
        return nil
    }

    private static func kind(of first: UInt8) -> Kind {
        switch first {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        default: return .number
        }
    }
}
