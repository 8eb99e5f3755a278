// libFuzzer target for the pure HTTP parsers: `make fuzz` (not part of `make test`).
// Any input must give incomplete/complete/failed without a crash, and a "complete"
// head's offsets must stay inside the input.

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
    return 0
}
