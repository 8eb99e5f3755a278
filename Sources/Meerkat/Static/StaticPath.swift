/// A request path made safe to open below a root. Pure: the URI's bytes in, a relative
/// path out. Percent-escapes are decoded once (a decoded "%" is never decoded again);
/// "." segments and empty ones are dropped; anything that could name a file outside
/// the root, or a name the board cannot mean, is refused: a ".." segment, an encoded
/// "/" or "\", a NUL or other control byte, a backslash.
enum StaticPath {
    enum Result: Equatable {
        /// The path below the root, `count` bytes written to `out` with no leading
        /// slash ("" for the root itself); `directory` when the URI ended in "/".
        case ok(count: Int, directory: Bool)
        /// 400: not a path ("%" without two hex digits, no leading "/").
        case bad
        /// 403: a path that tries to leave the root or hide a separator.
        case forbidden
        /// 404: longer than any path the board can open.
        case tooLong
    }

    static func resolve(_ uri: ByteView, into out: UnsafeMutableRawBufferPointer) -> Result {
        let b = uri.buffer
        guard uri.count > 0, b[0] == UInt8(ascii: "/") else { return .bad }
        let o = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var written = 0
        var segmentStart = 0  // where the segment being written began in `out`
        var i = 1
        while i <= uri.count {
            if i == uri.count || b[i] == UInt8(ascii: "/") {
                // A segment ends: drop "" and ".", refuse "..".
                let length = written - segmentStart
                let dots = length > 0 && length <= 2 && (0..<length).allSatisfy { o[segmentStart + $0] == UInt8(ascii: ".") }
                if length == 2 && dots { return .forbidden }
                if length == 0 || dots {
                    written = segmentStart
                } else if i < uri.count {
                    guard written < out.count else { return .tooLong }
                    o[written] = UInt8(ascii: "/")
                    written += 1
                    segmentStart = written
                }
                i += 1
                continue
            }
            var c = b[i]
            if c == UInt8(ascii: "%") {
                guard i + 2 < uri.count, let hi = ASCII.hexValue(b[i + 1]), let lo = ASCII.hexValue(b[i + 2]) else { return .bad }
                c = hi << 4 | lo
                if c == UInt8(ascii: "/") { return .forbidden }
                i += 3
            } else {
                i += 1
            }
            guard c >= 0x20 && c != 0x7F && c != UInt8(ascii: "\\") else { return .forbidden }
            guard written < out.count else { return .tooLong }
            o[written] = c
            written += 1
        }
        // A trailing "/" was written only between segments: drop one left at the end.
        if written > 0 && o[written - 1] == UInt8(ascii: "/") { written -= 1 }
        let directory = b[uri.count - 1] == UInt8(ascii: "/") || written == 0
        return .ok(count: written, directory: directory)
    }
}
