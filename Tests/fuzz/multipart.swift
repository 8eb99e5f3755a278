// libFuzzer target: multipart/form-data (`MultipartReader`). Input: one byte that chooses
// the pieces, a Content-Type line ending in '\n', then the body (no '\n' at all: the
// whole input is a body with boundary "b"). The body fed at once and fed in pieces must
// give the same parts, the same bytes in each, and the same ending.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let input = ByteView(base: data + 1, count: size - 1)
    let fixed: StaticString = "multipart/form-data; boundary=b"
    var type = ByteView(fixed.rawBuffer), body = input
    if let lf = input.firstIndex(of: ASCII.lf) {
        type = input.slice(0, lf)
        body = input.slice(lf + 1, input.count)
    }
    var seed = UInt32(data[0])
    let whole = CodecVectors.multipartAnswer(body, contentType: type) { _ in body.count }
    let pieces = CodecVectors.multipartAnswer(body, contentType: type) { at in
        seed = seed &* 1_103_515_245 &+ 12345
        return at + 1 + Int(seed >> 16) % 23
    }
    check(whole == pieces, "whole: \(whole)\npieces: \(pieces)")
    return 0
}
