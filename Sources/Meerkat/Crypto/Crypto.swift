import CMeerkat

/// Small helpers that secrets need: comparing without leaking where bytes differ, wiping
/// key material, hex for digests.
public enum Crypto {
    /// True when `a` and `b` hold the same bytes. The time depends only on the lengths,
    /// never on where the first difference is: compare tags, tokens and password hashes
    /// with this (a length mismatch returns at once; lengths are not secret here).
    public static func constantTimeEquals(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        var i = 0
        while i < a.count {
            diff |= a[i] ^ b[i]
            i += 1
        }
        return diff == 0
    }

    public static func constantTimeEquals(_ a: some ByteSource, _ b: some ByteSource) -> Bool {
        a.withBytes { x in b.withBytes { y in constantTimeEquals(x, y) } }
    }

    /// Overwrites `buffer` with zeros in a way the optimiser keeps.
    public static func wipe(_ buffer: UnsafeMutableRawBufferPointer) {
        mk_zeroize(buffer.baseAddress, buffer.count)
    }

    /// `bytes` as lowercase hex into `out` (two characters a byte); the characters written,
    /// or nil when `out` is too small.
    public static func hex(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard out.count >= bytes.count * 2 else { return nil }
        let digits: StaticString = "0123456789abcdef"
        for (i, b) in bytes.enumerated() {
            out[2 * i] = digits.utf8Start[Int(b >> 4)]
            out[2 * i + 1] = digits.utf8Start[Int(b & 15)]
        }
        return bytes.count * 2
    }

    /// Hex (either case) back into bytes in `out`: how many were written, or nil for an
    /// odd length, a character that is not a hex digit, or an `out` too small.
    public static func unhex(_ text: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard text.count % 2 == 0, out.count >= text.count / 2 else { return nil }
        var i = 0
        while i < text.count {
            guard let high = ASCII.hexValue(text[i]), let low = ASCII.hexValue(text[i + 1]) else { return nil }
            out[i / 2] = high << 4 | low
            i += 2
        }
        return text.count / 2
    }

    /// Hex back into bytes (a convenience off the hot path), or nil when it is not hex.
    public static func unhex(_ text: some ByteSource) -> [UInt8]? {
        text.withBytes { t in
            var out = [UInt8](repeating: 0, count: t.count / 2)
            return out.withUnsafeMutableBytes { unhex(t, into: $0) } == nil ? nil : out
        }
    }

    /// `bytes` as lowercase hex (a convenience off the hot path).
    public static func hex(_ bytes: some ByteSource) -> String {
        bytes.withBytes { b in
            var out = [UInt8](repeating: 0, count: b.count * 2)
            _ = out.withUnsafeMutableBytes { hex(b, into: $0) }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
