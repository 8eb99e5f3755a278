import CMeerkat

/// SHA-256 (FIPS 180-4) on mbedTLS, one-shot or streaming. The state is inline (about
/// 128 bytes), so hashing allocates nothing; the digest goes into the caller's buffer.
public struct Sha256 {
    /// Bytes in a digest.
    public static let digestCount = 32

    private var ctx = mk_sha256_ctx()

    public init() { mk_sha256_start(&ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        mk_sha256_update(&ctx, bytes.baseAddress, bytes.count)
    }

    public mutating func update(_ bytes: ByteView) { update(bytes.buffer) }

    /// Writes the digest into `out[0..<32]` (`out` must hold 32 bytes) and starts over.
    public mutating func finish(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= Sha256.digestCount, "Sha256: the output holds fewer than 32 bytes")
        mk_sha256_finish(&ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        mk_sha256_start(&ctx)
    }

    /// The digest as a new array (a convenience off the hot path).
    public mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Sha256.digestCount)
        out.withUnsafeMutableBytes { finish(into: $0) }
        return out
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        var h = Sha256()
        h.update(bytes)
        h.finish(into: out)
    }

    public static func hash(_ bytes: some ByteSource) -> [UInt8] {
        var h = Sha256()
        bytes.withBytes { h.update($0) }
        return h.finish()
    }
}
