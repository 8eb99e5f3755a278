import CMeerkat

/// The newest log lines in a fixed byte ring, for a page that shows a live log. Made once
/// with the size the app chose; when a line does not fit, the oldest lines give way
/// (whole lines: a reader never sees half of one). Nothing grows, nothing is allocated
/// after `init`.
public final class LogRing {
    let storage: UnsafeMutablePointer<UInt8>
    /// The ring's size in bytes.
    public let capacity: Int
    /// Where the oldest kept line starts, and how many bytes are kept.
    var head = 0
    private(set) public var count = 0
    /// Lines pushed out to make room since the start.
    private(set) public var dropped = 0
    /// One line copied out whole for `lines` (a kept line may wrap around the end).
    let scratch: UnsafeMutablePointer<UInt8>

    public init(bytes: Int) {
        capacity = max(bytes, Log.lineMax)
        storage = .allocate(capacity: capacity)
        scratch = .allocate(capacity: Log.lineMax)
    }

    deinit {
        storage.deallocate()
        scratch.deallocate()
    }

    /// Keeps `line` (newline included), dropping the oldest lines it needs room from.
    func append(_ line: UnsafeRawBufferPointer) {
        let n = min(line.count, capacity)
        while capacity - count < n { dropOldest() }
        var at = (head + count) % capacity
        for i in 0..<n {
            storage[at] = line[i]
            at = at + 1 == capacity ? 0 : at + 1
        }
        count += n
    }

    private func dropOldest() {
        var n = 0
        while n < count {
            let b = storage[(head + n) % capacity]
            n += 1
            if b == UInt8(ascii: "\n") { break }
        }
        head = (head + n) % capacity
        count -= n
        dropped += 1
    }

    /// Each kept line, oldest first, without its newline, in memory reused for the next.
    public func lines(_ body: (UnsafeRawBufferPointer) -> Void) {
        var n = 0
        for i in 0..<count {
            let b = storage[(head + i) % capacity]
            if b == UInt8(ascii: "\n") {
                body(UnsafeRawBufferPointer(start: scratch, count: n))
                n = 0
            } else if n < Log.lineMax {
                scratch[n] = b
                n += 1
            }
        }
    }

    /// The kept lines as one text (for a page or a test); this allocates, once per call.
    public var text: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count)
        lines { line in
            out.append(contentsOf: line)
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// Forgets every line.
    public func clear() {
        head = 0
        count = 0
    }
}
