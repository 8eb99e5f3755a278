/// Appends bytes to fixed memory; once something does not fit it stops and remembers,
/// so callers check `overflowed` once at the end instead of after every append.
struct ByteWriter {
    let base: UnsafeMutablePointer<UInt8>
    let capacity: Int
    private(set) var count = 0
    private(set) var overflowed = false

    init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    var written: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !overflowed, bytes.count <= capacity - count else {
            overflowed = true
            return
        }
        if bytes.count > 0 { (base + count).update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: bytes.count) }
        count += bytes.count
    }

    mutating func append(_ text: StaticString) { append(text.rawBuffer) }

    mutating func append(byte: UInt8) {
        guard !overflowed, count < capacity else {
            overflowed = true
            return
        }
        base[count] = byte
        count += 1
    }

    /// Decimal digits of a non-negative number.
    mutating func append(decimal value: Int) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)   // 24 bytes of scratch, no heap
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = max(value, 0)
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(48 + v % 10)
                v /= 10
            } while v > 0
            append(UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }
}
