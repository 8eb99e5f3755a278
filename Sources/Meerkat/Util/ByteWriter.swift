import CMeerkat

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
        if bytes.count > 0 { memcpy(base + count, bytes.baseAddress!, bytes.count) }  // a call, not a loop of byte moves
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

    /// Marks `n` bytes written in place (after the caller wrote them at `base + count`).
    mutating func skip(_ n: Int) {
        guard !overflowed, n <= capacity - count else {
            overflowed = true
            return
        }
        count += n
    }

    /// Takes back the last `n` bytes written.
    mutating func drop(_ n: Int) {
        count -= min(n, count)
    }

    /// Decimal digits of a non-negative number.
    mutating func append(decimal value: Int) {
        append(decimal: UInt64(max(value, 0)))
    }

    /// Decimal digits of a 64-bit number (file sizes and offsets on a 32-bit board).
    mutating func append(decimal value: UInt64) {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, no heap
        withUnsafeMutableBytes(of: &digits) { scratch in
            var v = value
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
