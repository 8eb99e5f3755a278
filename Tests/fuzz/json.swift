// libFuzzer target: the JSON scanner (`Json`, `Json.find` by path). Input as the codec
// vectors': a path, a space, then the document. A value found must be where its offset
// says, be valid JSON itself and of the kind its first byte says, in a valid document;
// a top-level key read by `Json.value` must be what `$.key` finds; a whole number must
// read as the same Double through `integer` and `number`.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let whole = ByteView(base: data, count: size)
    _ = CodecVectors.jsonPathAnswer(whole.buffer)
    let space = whole.firstIndex(of: UInt8(ascii: " ")) ?? size
    let path = whole.slice(0, space), doc = whole.slice(space + 1, size)
    let valid = Json.isValid(doc)
    if valid, let v = Json.value(doc, "a") {
        let found = Json.find(doc, path: "$.a")
        check(found != nil && found!.raw.buffer.baseAddress == v.buffer.baseAddress && found!.raw.count == v.count, "value and $.a differ")
    }
    guard let t = Json.find(doc, path: path) else { return 0 }
    check(valid, "a value found in an invalid document")
    check(t.offset >= 0 && t.offset + t.raw.count <= doc.count && doc.slice(t.offset, t.offset + t.raw.count).buffer.baseAddress == t.raw.buffer.baseAddress)
    check(t.raw.count > 0 && Json.isValid(t.raw), "the value found is not JSON itself")
    let first = t.raw[0]
    switch t.kind {
    case .object: check(first == UInt8(ascii: "{"))
    case .array: check(first == UInt8(ascii: "["))
    case .string:
        // A lone surrogate escape is valid JSON grammar, but no text: `string` is nil then.
        check(first == UInt8(ascii: "\"") && (Json.string(doc, path: path) != nil || hasSurrogateEscape(t.raw)), "a string that does not unescape")
    case .bool: check(first == UInt8(ascii: "t") || first == UInt8(ascii: "f"))
    case .null: check(first == UInt8(ascii: "n"))
    case .number:
        check(Json.number(of: t.raw) != nil, "a number that does not read")
        if let n = Json.integer(of: t.raw) { check(Json.number(of: t.raw) == Double(n), "integer \(n) reads as \(Json.number(of: t.raw)!)") }
    }
    return 0
}

func hasSurrogateEscape(_ raw: ByteView) -> Bool {
    var i = 0
    while i + 2 < raw.count {
        if raw[i] == UInt8(ascii: "\\") && raw[i + 1] == UInt8(ascii: "u") && raw[i + 2] | 0x20 == UInt8(ascii: "d") { return true }
        i += raw[i] == UInt8(ascii: "\\") ? 2 : 1
    }
    return false
}
