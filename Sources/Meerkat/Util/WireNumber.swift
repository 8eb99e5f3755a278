/// Numbers read off the wire. Each is parsed into a `UInt64` with every step checked
/// for overflow, so a 32-bit board and a 64-bit host give the same answer for the same
/// bytes: a value, or "too large to hold", never a trap and never a wrap. Callers
/// compare the value against their own limit before narrowing it to `Int`.
enum WireNumber {
    enum Parsed: Equatable {
        case value(UInt64)
        /// Well-formed digits whose value does not fit 64 bits.
        case overflow
        /// Empty, or a byte that is not a digit of the base.
        case malformed
    }

    /// `value * base + digit`, or nil when that does not fit 64 bits.
    @inline(__always)
    static func appending(_ digit: UInt8, base: UInt64, to value: UInt64) -> UInt64? {
        let (shifted, o1) = value.multipliedReportingOverflow(by: base)
        let (sum, o2) = shifted.addingReportingOverflow(UInt64(digit))
        return o1 || o2 ? nil : sum
    }

    /// 1*DIGIT (RFC 9110 Content-Length): no sign, no spaces; leading zeros allowed.
    static func decimal(_ v: ByteView) -> Parsed {
        guard v.count > 0 else { return .malformed }
        var value: UInt64 = 0
        var overflow = false
        for i in 0..<v.count {
            let c = v[i]
            guard ASCII.isDigit(c) else { return .malformed }
            if !overflow {
                if let next = appending(c - 48, base: 10, to: value) { value = next } else { overflow = true }
            }
        }
        return overflow ? .overflow : .value(value)
    }
}
