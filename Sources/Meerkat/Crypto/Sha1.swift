import CMeerkat

/// SHA-1 (FIPS 180-4), for protocols that still name it (WebSocket's accept key, TOTP,
/// old signatures); not for anything new that must resist collisions. Same shape as
/// `Sha256`: inline state, digest into the caller's buffer.
public struct Sha1 {
    /// Bytes in a digest.
    public static let digestCount = 20

    private var ctx = mk_sha1_ctx()

    public init() { mk_sha1_start(&ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        mk_sha1_update(&ctx, bytes.baseAddress, bytes.count)
    }

    public mutating func update(_ bytes: ByteView) { update(bytes.buffer) }

    /// Writes the digest into `out[0..<20]` (`out` must hold 20 bytes) and starts over.
    public mutating func finish(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= Sha1.digestCount, "Sha1: the output holds fewer than 20 bytes")
        mk_sha1_finish(&ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
        mk_sha1_start(&ctx)
    }

    public mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Sha1.digestCount)
        out.withUnsafeMutableBytes { finish(into: $0) }
        return out
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        var h = Sha1()
        h.update(bytes)
        h.finish(into: out)
    }

    public static func hash(_ bytes: some ByteSource) -> [UInt8] {
        var h = Sha1()
        bytes.withBytes { h.update($0) }
        return h.finish()
    }
}
