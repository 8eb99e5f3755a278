// libFuzzer target: the WebSocket frame codec (`WsFrame`) and the UTF-8 validator a text
// message goes through. Input: one byte that chooses a cut, then the bytes. A header
// parsed must lie inside the input and be written back by `writeHeader` as the same
// frame; unmasking in two pieces (as frames arrive) must equal unmasking at once, and
// twice must give the bytes back; the validator must agree with the standard library,
// and fed in two pieces must end where it ends fed at once.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let p = data + 1, n = size - 1
    let cut = n == 0 ? 0 : Int(data[0]) % (n + 1)
    _ = onCopy(UnsafeRawBufferPointer(start: p, count: n)) { CodecVectors.wsFrameAnswer($0) }
    for fromClient in [true, false] {
        guard case let .header(h) = WsFrame.parseHeader(p, n, fromClient: fromClient) else { continue }
        check(h.headerLength >= 2 && h.headerLength <= 14 && h.headerLength <= n && h.masked == fromClient)
        let out = UnsafeMutablePointer<UInt8>.allocate(capacity: 10)
        defer { out.deallocate() }
        let written = WsFrame.writeHeader(out, fin: h.fin, opcode: h.opcode, length: h.payloadLength)
        guard case let .header(again) = WsFrame.parseHeader(out, written, fromClient: false) else {
            fatalError("a header written back does not parse")
        }
        check(again.fin == h.fin && again.opcode == h.opcode && again.payloadLength == h.payloadLength)
    }
    checkUnmasking(p, n, cut)
    checkUtf8(p, n, cut)
    return 0
}

/// Unmasking at once, in two pieces split at `cut`, and twice.
func checkUnmasking(_ p: UnsafePointer<UInt8>, _ n: Int, _ cut: Int) {
    guard n >= 4 else { return }
    let mask = (p[0], p[1], p[2], p[3])
    let whole = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
    let pieces = UnsafeMutablePointer<UInt8>.allocate(capacity: n)
    defer { whole.deallocate(); pieces.deallocate() }
    whole.initialize(from: p, count: n)
    pieces.initialize(from: p, count: n)
    WsFrame.unmask(whole, n, mask)
    WsFrame.unmask(pieces, cut, mask)
    WsFrame.unmask(pieces + cut, n - cut, mask, offset: cut)
    for i in 0..<n { check(whole[i] == pieces[i], "unmasked in pieces differs at \(i) (cut \(cut))") }
    WsFrame.unmask(whole, n, mask)
    for i in 0..<n { check(whole[i] == p[i], "unmasking twice is not the identity") }
}

/// The validator against the standard library, and fed at once against fed in two pieces.
func checkUtf8(_ p: UnsafePointer<UInt8>, _ n: Int, _ cut: Int) {
    var whole = Utf8Validator()
    let ok = whole.feed(p, n) && whole.isComplete
    check(ok == (String(validating: UnsafeBufferPointer(start: p, count: n), as: UTF8.self) != nil), "UTF-8 validator disagrees")
    var pieces = Utf8Validator()
    pieces.feed(p, cut)
    pieces.feed(p + cut, n - cut)
    check(pieces == whole, "UTF-8 validated in pieces ends elsewhere (cut \(cut))")
}
