/// Decodes a chunked request body (RFC 9112 §7.1) in place: pure, no allocation.
enum ChunkedDecoder {
    enum Result: Equatable {
        case incomplete
        case failed(Int)
        /// The decoded body now fills the first `bodyLength` bytes; `consumed` wire bytes
        /// (chunks, last chunk, trailers, final CRLF) have been used.
        case complete(bodyLength: Int, consumed: Int)
    }

    /// Validates the chunked body at the start of `buf`; once it is complete, moves the
    /// chunk data together at the front. Incomplete input is left untouched, so the
    /// caller can simply try again with more bytes. A body over `maxBody` fails with 413,
    /// and so does a chunk size too large for 64 bits: sizes are read as `UInt64` with
    /// overflow checks, so every board gives the same answer for the same bytes.
    static func decode(_ buf: UnsafeMutableRawBufferPointer, maxBody: Int) -> Result {
        guard let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return .incomplete }
        let n = buf.count
        var i = 0
        var total = 0
        // Pass 1: validate and find the end.
        chunks: while true {
            switch chunkSize(p, n, i) {
            case .incomplete: return .incomplete
            case .malformed: return .failed(400)
            case .tooLarge: return .failed(413)
            case let .size(wireSize, next):
                i = next
                if wireSize == 0 { break chunks }
                guard total <= maxBody, wireSize <= UInt64(maxBody - total) else { return .failed(413) }
                let size = Int(wireSize)  // no larger than maxBody now
                total += size
                guard i + size + 2 <= n else { return .incomplete }
                guard p[i + size] == ASCII.cr && p[i + size + 1] == ASCII.lf else { return .failed(400) }
                i += size + 2
            }
        }
        // Trailer section: field lines (a token name, then a colon), then an empty line.
        // Shape-checked, then ignored.
        trailers: while true {
            switch lineEnd(p, n, i) {
            case .incomplete: return .incomplete
            case .malformed: return .failed(400)
            case let .at(lf):
                let empty = lf == i + 1
                guard empty || isTrailerField(p, i) else { return .failed(400) }
                i = lf + 1
                if empty { break trailers }
            }
        }
        let consumed = i
        // Pass 2: move the data together.
        var read = 0, write = 0
        while case let .size(wireSize, next) = chunkSize(p, n, read), wireSize > 0 {
            let size = Int(wireSize)
            if write != next { (p + write).update(from: p + next, count: size) }
            write += size
            read = next + size + 2
        }
        return .complete(bodyLength: write, consumed: consumed)
    }

    enum Size { case size(UInt64, next: Int), incomplete, malformed, tooLarge }
    enum LineEnd { case at(Int), incomplete, malformed }

    /// A trailer line (already known to end in CRLF) starts with a token and a colon.
    static func isTrailerField(_ p: UnsafeMutablePointer<UInt8>, _ start: Int) -> Bool {
        var k = start
        while ASCII.isTokenChar(p[k]) { k += 1 }
        return k > start && p[k] == ASCII.colon
    }

    /// chunk-size [chunk-ext] CRLF at `start`.
    static func chunkSize(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ start: Int) -> Size {
        var i = start
        var size: UInt64 = 0
        var overflow = false
        while i < n, let d = ASCII.hexValue(p[i]) {
            if !overflow {
                if let next = WireNumber.appending(d, base: 16, to: size) { size = next } else { overflow = true }
            }
            i += 1
        }
        if i == n { return .incomplete }
        guard i > start else { return .malformed }
        switch lineEnd(p, n, i) {
        case .incomplete: return .incomplete
        case .malformed: return .malformed
        case let .at(lf):
            // Anything between the size and CRLF must be an extension: BWS then ";…".
            var k = i
            while ASCII.isSpaceOrTab(p[k]) { k += 1 }
            guard k == lf - 1 && k == i || p[k] == UInt8(ascii: ";") else { return .malformed }
            return overflow ? .tooLarge : .size(size, next: lf + 1)
        }
    }

    /// The LF that ends the line at `start` (which must end in CRLF and hold no other
    /// control bytes but tab).
    static func lineEnd(_ p: UnsafeMutablePointer<UInt8>, _ n: Int, _ start: Int) -> LineEnd {
        var i = start
        while i < n {
            let c = p[i]
            if c == ASCII.cr {
                guard i + 1 < n else { return .incomplete }
                return p[i + 1] == ASCII.lf ? .at(i + 1) : .malformed
            }
            if (c < 0x20 && c != ASCII.tab) || c == 0x7F { return .malformed }
            i += 1
        }
        return .incomplete
    }
}
