// libFuzzer target: percent-decoding and form pairs (`URLEncoding`). A decode fails
// exactly when a '%' lacks two hex digits; any text encoded then decoded is itself; the
// pairs of a form are its '&'-separated pieces, in order, and `value(of:in:)` reads the
// first one named.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let form = ByteView(base: data, count: size)
    let decoded = URLEncoding.decode(form)
    check((decoded == nil) == hasBadEscape(form), "decode and the escapes disagree")
    if let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) {
        check(URLEncoding.decode(URLEncoding.encode(text)) == text, "encode then decode changes \(text)")
        check(URLEncoding.decode(URLEncoding.encode(text), plusAsSpace: false) == text)
    }
    var pieces = 0
    var first: String?? = .none
    URLEncoding.forEachRawPair(form) { key, value in
        check(inside(key, data, size) && inside(value, data, size), "a pair outside the form")
        pieces += 1
        if first == nil && key == "a" { first = .some(URLEncoding.decode(value)) }
        return true
    }
    let nonEmpty = form.buffer.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true).count
    check(pieces == nonEmpty, "\(pieces) pairs for \(nonEmpty) pieces")
    check(URLEncoding.value(of: "a", in: form) == (first ?? nil), "value(of:) is not the first pair named")
    return 0
}

func hasBadEscape(_ v: ByteView) -> Bool {
    var i = 0
    while i < v.count {
        if v[i] == UInt8(ascii: "%") {
            guard i + 2 < v.count, ASCII.hexValue(v[i + 1]) != nil, ASCII.hexValue(v[i + 2]) != nil else { return true }
            i += 3
        } else {
            i += 1
        }
    }
    return false
}

func inside(_ v: ByteView, _ data: UnsafePointer<UInt8>, _ size: Int) -> Bool {
    guard let base = v.buffer.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return v.count == 0 }
    return base >= data && base + v.count <= data + size
}
