// libFuzzer target for the pure codecs: `make fuzz` (not part of `make test`). The HTTP
// head parser, the chunked decoders, the WebSocket frame codec and the UTF-8 validator:
// any input must give an answer without a crash, and offsets must stay inside the input.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let fields = UnsafeMutableBufferPointer<HeaderField>.allocate(capacity: 16)
    defer { fields.deallocate() }
    fields.initialize(repeating: HeaderField())
    switch HttpParser.parseHead(input, fields: fields, maxURILength: 256) {
    case let .complete(head):
        precondition(head.length <= size)
        precondition(Int(head.targetEnd) <= head.length && head.methodEnd < head.targetEnd)
        // hm.uri: inside the target, past an absolute-form's authority.
        precondition(head.methodEnd < head.pathStart && head.pathStart <= head.pathEnd && head.pathEnd <= head.targetEnd)
        for f in fields[0..<head.headerCount] {
            precondition(Int(f.valueStart + f.valueLength) <= head.length)
        }
        if head.body == .chunked {
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size - head.length, alignment: 1)
            defer { copy.deallocate() }
            copy.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[head.length...]))
            if case let .complete(n, used) = ChunkedDecoder.decode(copy, maxBody: 1 << 20) {
                precondition(n <= used && used <= copy.count)
            }
        }
    case .incomplete, .failed:
        break
    }
    // The chunked decoder on raw input too.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: input)
    if case let .complete(n, used) = ChunkedDecoder.decode(copy, maxBody: 4096) {
        precondition(n <= used && used <= size && n <= 4096)
    }
    // WebSocket: a frame header, and when the frame is whole, its payload unmasked and
    // (as text) validated; the validator must agree with the standard library.
    let frame = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 1)
    defer { frame.deallocate() }
    frame.copyMemory(from: input)
    let p = frame.baseAddress!.assumingMemoryBound(to: UInt8.self)
    if case let .header(h) = WsFrame.parseHeader(p, size) {
        precondition(h.headerLength >= 2 && h.headerLength <= 14 && h.headerLength <= size)
        if UInt64(size - h.headerLength) >= h.payloadLength {
            WsFrame.unmask(p + h.headerLength, Int(h.payloadLength), h.mask)
        }
    }
    var v = Utf8Validator()
    let ok = v.feed(data, size) && v.isComplete
    let bytes = UnsafeBufferPointer(start: data, count: size)
    precondition(ok == (String(validating: bytes, as: UTF8.self) != nil), "UTF-8 validator disagrees")
    return 0
}
