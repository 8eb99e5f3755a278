import CMeerkat

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2), for stored password hashes: store the salt, the
/// iteration count and the derived key, and check a login by deriving again and
/// comparing with `Crypto.constantTimeEquals`. Each iteration costs two SHA-256
/// compressions; the README gives the time of 10,000 on each board.
public enum Pbkdf2 {
    /// Derives `out.count` bytes into `out`. False (and `out` untouched) when
    /// `iterations` is 0 or `out` is empty.
    public static func sha256(
        password: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, iterations: UInt32,
        into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        guard iterations > 0, out.count > 0 else { return false }
        return mk_pbkdf2_sha256(
            password.baseAddress, password.count, salt.baseAddress, salt.count, iterations,
            out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count) == 0
    }

    /// The derived key as a new array, or nil when `iterations` or `count` is 0.
    public static func sha256(
        password: some ByteSource, salt: some ByteSource, iterations: UInt32, count: Int = 32
    ) -> [UInt8]? {
        guard count > 0 else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        let ok = password.withBytes { p in
            salt.withBytes { s in out.withUnsafeMutableBytes { sha256(password: p, salt: s, iterations: iterations, into: $0) } }
        }
        return ok ? out : nil
    }
}
