// libFuzzer target: a chunked body decoded whole (`ChunkedDecoder`, in place) and
// streamed (`BodyStream`, the bytes arriving in pieces the fuzzer chooses) must give the
// same answer: the same body, the same bytes used, the same failure. Input: 4 bytes that
// choose the cuts, then the body.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 4 else { return 0 }
    var seed = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
    let body = UnsafeRawBufferPointer(start: data + 4, count: size - 4)
    let limit = 1 << 20
    let whole = onCopy(body) { CodecVectors.chunkedAnswer($0, maxBody: limit) }
    let streamed = onCopy(body) { buf in
        CodecVectors.streamedAnswer(buf) { seen in
            seed = seed &* 1_103_515_245 &+ 12345
            return seen + 1 + Int(seed >> 16) % 17
        }
    }
    // A chunk larger than the whole decoder's limit is refused at once; the streaming
    // one (no limit) waits for its bytes.
    if whole == "fail 413" && streamed == "incomplete" { return 0 }
    check(whole == streamed, "whole: \(whole)\nstreamed: \(streamed)")
    return 0
}
