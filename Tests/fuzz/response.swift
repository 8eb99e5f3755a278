// libFuzzer target: the HTTP response-head parser (the client side,
// `HttpResponseParser.parseHead`). Any input must give an answer without a crash; a head
// it takes must lie inside the input, say the same status and length whether the
// request was a HEAD or not (a HEAD's answer only has no body), and its every strict
// prefix is incomplete.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = CodecVectors.responseAnswer(input, toHead: false)
    let answer = parse(input, toHead: false)
    let toHead = parse(input, toHead: true)
    guard case let .complete(r) = answer else {
        check(toHead == answer, "the same bytes read differently after a HEAD")
        return 0
    }
    guard case let .complete(h) = toHead else { fatalError("a head refused after a HEAD only") }
    // (Keep-alive may differ: an answer to HEAD has no body to read until close.)
    check(h.status == r.status && h.head.length == r.head.length && h.head.headerCount == r.head.headerCount && h.body == .none)
    check(r.status >= 100 && r.status <= 999 && r.head.length <= size)
    let message = HttpMessage(base: data, head: r.head, fields: UnsafeBufferPointer(start: nil, count: 0), body: .empty)
    check(message.status == r.status)
    for cut in [r.head.length - 1, r.head.length / 2] {
        let part = parse(UnsafeRawBufferPointer(rebasing: input[0..<cut]), toHead: false)
        check(part == .incomplete, "a prefix of \(cut) of a \(r.head.length)-byte head: \(part)")
    }
    return 0
}

/// The head at the start of `bytes`, with every field checked to lie inside it.
func parse(_ bytes: UnsafeRawBufferPointer, toHead: Bool) -> ResponseResult {
    let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
    defer { fields.deallocate() }
    fields.initialize(repeating: HeaderField())
    let answer = HttpResponseParser.parseHead(bytes, fields: fields, requestWasHead: toHead)
    if case let .complete(r) = answer {
        for f in fields[0..<r.head.headerCount] {
            check(f.nameLength > 0 && f.nameStart + f.nameLength <= f.valueStart)
            check(Int(f.valueStart + f.valueLength) <= r.head.length)
        }
    }
    return answer
}
