// libFuzzer target: the HTTP request-head parser (`HttpParser.parseHead`) and the views
// a handler reads from it. Any input must give an answer without a crash; a head it
// takes must lie inside the input, every offset in order, and be one the server's
// cheap look (`holdsWholeHead`) lets through; its every strict prefix is incomplete
// (a head cut by TCP is waited for, never refused or read differently).
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    _ = CodecVectors.targetAnswer(input)
    _ = CodecVectors.headAnswer(input, fieldSum: true)
    guard case let .complete(head) = parse(input) else { return 0 }
    check(head.length <= size && HttpParser.holdsWholeHead(UnsafeRawBufferPointer(rebasing: input[0..<head.length])))
    check(head.methodStart < head.methodEnd && head.methodEnd < head.pathStart)
    check(head.pathStart <= head.pathEnd && head.pathEnd <= head.queryStart && head.queryStart <= head.targetEnd)
    check(head.authorityStart <= head.authorityEnd && Int(head.protoEnd) <= head.length)
    for cut in [head.length - 1, head.length / 2] {
        let answer = parse(UnsafeRawBufferPointer(rebasing: input[0..<cut]))
        check(answer == .incomplete, "a prefix of \(cut) of a \(head.length)-byte head: \(answer)")
    }
    return 0
}

/// The head at the start of `bytes`, with every field checked to lie inside it.
func parse(_ bytes: UnsafeRawBufferPointer) -> HeadResult {
    let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
    defer { fields.deallocate() }
    fields.initialize(repeating: HeaderField())
    let answer = HttpParser.parseHead(bytes, fields: fields, maxURILength: 256)
    if case let .complete(head) = answer {
        for f in fields[0..<head.headerCount] {
            check(f.nameLength > 0 && f.nameStart + f.nameLength <= f.valueStart)
            check(Int(f.valueStart + f.valueLength) <= head.length)
        }
    }
    return answer
}
