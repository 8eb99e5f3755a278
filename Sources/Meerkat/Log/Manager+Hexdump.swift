/// Where the loop's reads and writes meet the hex dump switch (`Connection.isHexdumping`):
/// one flag test on the hot path, the dump only for a connection the app marked.
extension Manager {
    /// `n` bytes were read into `buf` on slot `s`.
    @inline(__always)
    func hexdumpRead(_ s: Int32, _ buf: UnsafeRawPointer?, _ n: Int) {
        guard n > 0, slots[Int(s)].flags.contains(.hexdumping) else { return }
        Log.hexdump(slot: s, written: false, UnsafeRawBufferPointer(start: buf, count: n))
    }

    /// The socket took `n` bytes of `a` then `b` on slot `s`.
    @inline(__always)
    func hexdumpWritten(_ s: Int32, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer, _ n: Int) {
        guard n > 0, slots[Int(s)].flags.contains(.hexdumping) else { return }
        let fromA = min(n, a.count)
        Log.hexdump(slot: s, written: true, UnsafeRawBufferPointer(rebasing: a[0..<fromA]))
        if n > fromA { Log.hexdump(slot: s, written: true, UnsafeRawBufferPointer(rebasing: b[0..<(n - fromA)])) }
    }
}
