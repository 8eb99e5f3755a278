/// Base64 and base64url (RFC 4648 §4, §5): encode into the caller's buffer, and a strict
/// decode that takes only the canonical form, so one value has one spelling (a token or
/// a signature compared as text cannot be varied). Decode refuses: a byte outside the
/// alphabet (whitespace too, and the other alphabet's '+/' or '-_'), '=' anywhere but at
/// the end, a wrong amount of padding, a length that no encoding has (4n+1), and unused
/// low bits that are not zero ("QR==" for "QQ=="). `.standard` requires the padding;
/// `.url` takes it or not (JWT and most URL uses drop it), but if present it must be right.
public enum Base64 {
    public enum Alphabet {
        /// `A–Z a–z 0–9 + /`, padded with '='.
        case standard
        /// `A–Z a–z 0–9 - _` (URL- and file-name-safe).
        case url
    }

    /// Characters `encode` writes for `count` bytes.
    public static func encodedCount(_ count: Int, padded: Bool = true) -> Int {
        padded ? (count + 2) / 3 * 4 : count / 3 * 4 + [0, 2, 3][count % 3]
    }

    /// The most bytes `decode` can write for `count` characters.
    public static func maxDecodedCount(_ count: Int) -> Int { (count + 3) / 4 * 3 }

    /// Encodes `input` into `out`; the characters written, or nil when `out` is too small.
    /// `padded` defaults to true for `.standard`, false for `.url`.
    public static func encode(
        _ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, alphabet: Alphabet = .standard,
        padded: Bool? = nil
    ) -> Int? {
        let pad = padded ?? (alphabet == .standard)
        let n = encodedCount(input.count, padded: pad)
        guard n <= out.count else { return nil }
        let table: StaticString =
            alphabet == .standard
            ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
            : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        let t = table.utf8Start
        var i = 0, o = 0
        while i + 3 <= input.count {
            let v = UInt32(input[i]) << 16 | UInt32(input[i + 1]) << 8 | UInt32(input[i + 2])
            out[o] = t[Int(v >> 18)]
            out[o + 1] = t[Int(v >> 12 & 63)]
            out[o + 2] = t[Int(v >> 6 & 63)]
            out[o + 3] = t[Int(v & 63)]
            i += 3
            o += 4
        }
        let rest = input.count - i
        if rest > 0 {
            let v = UInt32(input[i]) << 16 | (rest == 2 ? UInt32(input[i + 1]) << 8 : 0)
            out[o] = t[Int(v >> 18)]
            out[o + 1] = t[Int(v >> 12 & 63)]
            o += 2
            if rest == 2 {
                out[o] = t[Int(v >> 6 & 63)]
                o += 1
            } else if pad {
                out[o] = UInt8(ascii: "=")
                o += 1
            }
            if pad {
                out[o] = UInt8(ascii: "=")
                o += 1
            }
        }
        return o
    }

    /// Decodes `input` into `out` strictly (see the type); the bytes written, or nil when
    /// the input is not canonical base64 of `alphabet` or `out` is too small.
    public static func decode(
        _ input: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer, alphabet: Alphabet = .standard
    ) -> Int? {
        var end = input.count
        var padding = 0
        while end > 0 && input[end - 1] == UInt8(ascii: "=") && padding < 3 {
            end -= 1
            padding += 1
        }
        if padding > 0 {
            guard input.count % 4 == 0, padding <= 2 else { return nil }
        } else if alphabet == .standard {
            guard input.count % 4 == 0 else { return nil }
        }
        let tail = end % 4
        guard tail != 1 else { return nil }
        if padding > 0 && padding != 4 - tail { return nil }  // "QQ=" padded short, "QUJD=" stray
        let n = end / 4 * 3 + (tail == 0 ? 0 : tail - 1)
        guard n <= out.count else { return nil }
        var i = 0, o = 0
        while i + 4 <= end {
            guard let a = value(input[i], alphabet), let b = value(input[i + 1], alphabet),
                let c = value(input[i + 2], alphabet), let d = value(input[i + 3], alphabet)
            else { return nil }
            let v = a << 18 | b << 12 | c << 6 | d
            out[o] = UInt8(truncatingIfNeeded: v >> 16)
            out[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
            out[o + 2] = UInt8(truncatingIfNeeded: v)
            i += 4
            o += 3
        }
        if tail >= 2 {
            guard let a = value(input[i], alphabet), let b = value(input[i + 1], alphabet) else { return nil }
            var v = a << 18 | b << 12
            if tail == 3 {
                guard let c = value(input[i + 2], alphabet) else { return nil }
                v |= c << 6
            }
            // The bits past the last whole byte must be zero (RFC 4648 §3.5).
            guard v & (tail == 2 ? 0xFFFF : 0xFF) == 0 else { return nil }
            out[o] = UInt8(truncatingIfNeeded: v >> 16)
            if tail == 3 { out[o + 1] = UInt8(truncatingIfNeeded: v >> 8) }
            o += tail - 1
        }
        return o
    }

    @inline(__always)
    private static func value(_ c: UInt8, _ alphabet: Alphabet) -> UInt32? {
        switch c {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return UInt32(c - UInt8(ascii: "A"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return UInt32(c - UInt8(ascii: "a") + 26)
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0") + 52)
        case UInt8(ascii: "+"): return alphabet == .standard ? 62 : nil
        case UInt8(ascii: "/"): return alphabet == .standard ? 63 : nil
        case UInt8(ascii: "-"): return alphabet == .url ? 62 : nil
        case UInt8(ascii: "_"): return alphabet == .url ? 63 : nil
        default: return nil
        }
    }

    /// The encoding as a String (a convenience off the hot path).
    public static func encode(_ input: some ByteSource, alphabet: Alphabet = .standard, padded: Bool? = nil) -> String {
        input.withBytes { bytes in
            let pad = padded ?? (alphabet == .standard)
            var out = [UInt8](repeating: 0, count: encodedCount(bytes.count, padded: pad))
            let n = out.withUnsafeMutableBytes { encode(bytes, into: $0, alphabet: alphabet, padded: pad) } ?? 0
            return String(decoding: out[0..<n], as: UTF8.self)
        }
    }

    /// The decoded bytes, or nil when `input` is not strict base64 of `alphabet`.
    public static func decode(_ input: some ByteSource, alphabet: Alphabet = .standard) -> [UInt8]? {
        input.withBytes { bytes in
            var out = [UInt8](repeating: 0, count: maxDecodedCount(bytes.count))
            guard let n = out.withUnsafeMutableBytes({ decode(bytes, into: $0, alphabet: alphabet) }) else { return nil }
            out.removeLast(out.count - n)
            return out
        }
    }
}
