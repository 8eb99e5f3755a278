/// What a GET or HEAD of a file gets, from the file's validators (ETag, modification
/// time, size) and the request's conditional headers (RFC 9110 §13 and §14). Pure.
/// Sizes and offsets are `UInt64` on every board, read with overflow checks.
enum FileConditions {
    enum Answer: Equatable {
        case full
        /// 304: the client's copy is current.
        case notModified
        /// 206: one byte range.
        case partial(start: UInt64, length: UInt64)
        /// 416: a range that starts past the end.
        case unsatisfiable
    }

    /// The ETag of a file: its modification time and size in hex, quoted (as nginx does).
    static func writeETag(mtime: Int64, size: UInt64, _ w: inout ByteWriter) {
        w.append(byte: UInt8(ascii: "\""))
        hex(UInt64(bitPattern: mtime), &w)
        w.append(byte: UInt8(ascii: "-"))
        hex(size, &w)
        w.append(byte: UInt8(ascii: "\""))
    }

    static func answer(
        ifNoneMatch: ByteView?, ifModifiedSince: ByteView?, range: ByteView?, ifRange: ByteView?,
        etag: ByteView, mtime: Int64, size: UInt64
    ) -> Answer {
        // If-None-Match wins over If-Modified-Since (§13.2.2); a weak comparison.
        if let list = ifNoneMatch {
            if matches(list, etag, weak: true) { return .notModified }
        } else if let since = ifModifiedSince.flatMap(HttpDate.parse), mtime <= since {
            return .notModified
        }
        guard let range else { return .full }
        // If-Range: the range only if the client's copy is this one (a strong ETag, or
        // the exact Last-Modified date).
        if let condition = ifRange?.trimmingSpaces() {
            if condition.count > 0 && (condition.buffer[0] == UInt8(ascii: "\"") || condition.hasPrefix("W/")) {
                guard matches(condition, etag, weak: false) else { return .full }
            } else {
                guard HttpDate.parse(condition) == mtime else { return .full }
            }
        }
        return parseRange(range, size: size)
    }

    /// `bytes=first-last`, `bytes=first-`, `bytes=-suffix`. More than one range, another
    /// unit, or anything malformed: the whole file (a server may ignore Range).
    static func parseRange(_ header: ByteView, size: UInt64) -> Answer {
        let v = header.trimmingSpaces()
        guard v.hasPrefix("bytes="), v.firstIndex(of: UInt8(ascii: ",")) == nil else { return .full }
        let spec = v.slice(6, v.count).trimmingSpaces()
        guard let dash = spec.firstIndex(of: UInt8(ascii: "-")) else { return .full }
        let first = number(spec.slice(0, dash).trimmingSpaces())
        let last = number(spec.slice(dash + 1, spec.count).trimmingSpaces())
        switch (first, last) {
        case (.some(nil), .some(let suffix?)):  // "-N": the last N bytes
            guard suffix > 0 else { return .unsatisfiable }
            guard size > 0 else { return .unsatisfiable }
            let n = min(suffix, size)
            return .partial(start: size - n, length: n)
        case (.some(let start?), .some(nil)):  // "N-": from N to the end
            guard start < size else { return .unsatisfiable }
            return .partial(start: start, length: size - start)
        case (.some(let start?), .some(let end?)):
            guard start <= end else { return .full }
            guard start < size else { return .unsatisfiable }
            return .partial(start: start, length: min(end, size - 1) - start + 1)
        default:
            return .full
        }
    }

    /// Whether `etag` is in a comma-separated list of entity tags ("*" matches any).
    static func matches(_ list: ByteView, _ etag: ByteView, weak: Bool) -> Bool {
        var start = 0
        while start <= list.count {
            let end = list.firstIndex(of: UInt8(ascii: ","), from: start) ?? list.count
            var tag = list.slice(start, end).trimmingSpaces()
            if tag == "*" { return true }
            var isWeak = false
            if tag.hasPrefix("W/") {
                isWeak = true
                tag = tag.slice(2, tag.count)
            }
            if tag == etag && (weak || !isWeak) { return true }
            start = end + 1
        }
        return false
    }

    /// Outer nil: not a number (or past 64 bits); inner nil: empty.
    private static func number(_ v: ByteView) -> UInt64?? {
        if v.count == 0 { return .some(nil) }
        guard case let .value(n) = WireNumber.decimal(v) else { return nil }
        return .some(n)
    }

    private static func hex(_ value: UInt64, _ w: inout ByteWriter) {
        let digits: StaticString = "0123456789abcdef"
        var shift = 60
        while shift > 0 && (value >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
        while shift >= 0 {
            w.append(byte: digits.utf8Start[Int((value >> UInt64(shift)) & 0xF)])
            shift -= 4
        }
    }
}
