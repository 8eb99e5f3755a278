// libFuzzer target: the static-file path normaliser (`StaticPath.resolve`). Input: a
// request path. A path it takes must never leave the root: relative (no leading '/'),
// no "", "." or ".." segment, no control byte or backslash, no trailing '/'. The answer
// does not depend on the room given (but for "too long"), and a taken path without '%'
// resolves to itself.
@testable import Meerkat

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let uri = ByteView(base: data, count: size)
    _ = CodecVectors.staticPathAnswer(uri.buffer)
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
    let small = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 1)
    defer { out.deallocate(); small.deallocate() }
    let answer = StaticPath.resolve(uri, into: out)
    let inSmall = StaticPath.resolve(uri, into: small)
    check(inSmall == answer || inSmall == .tooLong, "\(answer) with 4096 bytes, \(inSmall) with 64")
    guard case let .ok(count, directory) = answer else { return 0 }
    let path = ByteView(base: out.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count)
    checkInsideRoot(path)
    check(directory == (count == 0 || data[size - 1] == UInt8(ascii: "/")))
    guard path.firstIndex(of: UInt8(ascii: "%")) == nil else { return 0 }
    let again = ([UInt8(ascii: "/")] + Array(path.buffer)).withUnsafeBytes { StaticPath.resolve(ByteView($0), into: small) }
    if case let .ok(n, _) = again {
        check(n == count && small.prefix(n).elementsEqual(path.buffer), "a normalised path normalises to another")
    } else {
        check(again == .tooLong && count > 63, "a normalised path is refused: \(again)")
    }
    return 0
}

/// The path names something below the root: every segment a plain name.
func checkInsideRoot(_ path: ByteView) {
    var start = 0
    while start <= path.count {
        let end = path.firstIndex(of: UInt8(ascii: "/"), from: start) ?? path.count
        let segment = path.slice(start, end)
        if path.count > 0 {
            check(segment.count > 0 && segment != "." && segment != "..", "segment \"\(segment.string)\" in \"\(path.string)\"")
        }
        for c in segment.buffer { check(c >= 0x20 && c != 0x7F && c != UInt8(ascii: "\\"), "byte \(c) in a path") }
        start = end + 1
    }
}
