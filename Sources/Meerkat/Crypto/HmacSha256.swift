import CMeerkat

/// HMAC-SHA256 (RFC 2104, RFC 4231), one-shot or streaming: signed cookies, API request
/// signatures, JWT HS256. The keyed state is inline; the tag goes into the caller's
/// buffer. Compare tags with `Crypto.constantTimeEquals`, never `==`.
public struct HmacSha256 {
    /// Bytes in a tag.
    public static let tagCount = 32

    private var ctx = mk_hmac_sha256_ctx()

    public init(key: UnsafeRawBufferPointer) {
        mk_hmac_sha256_start(&ctx, key.baseAddress, key.count)
    }

    public init(key: some ByteSource) {
        var ctx = mk_hmac_sha256_ctx()
        key.withBytes { mk_hmac_sha256_start(&ctx, $0.baseAddress, $0.count) }
        self.ctx = ctx
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        mk_hmac_sha256_update(&ctx, bytes.baseAddress, bytes.count)
    }

    public mutating func update(_ bytes: ByteView) { update(bytes.buffer) }

    /// Writes the tag into `out[0..<32]` and wipes the key from the state: a finished
    /// HMAC cannot be used again (make a new one per message).
    public mutating func finish(into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= HmacSha256.tagCount, "HmacSha256: the output holds fewer than 32 bytes")
        mk_hmac_sha256_finish(&ctx, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
    }

    public mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: HmacSha256.tagCount)
        out.withUnsafeMutableBytes { finish(into: $0) }
        return out
    }

    public static func tag(
        key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        var h = HmacSha256(key: key)
        h.update(message)
        h.finish(into: out)
    }

    public static func tag(key: some ByteSource, message: some ByteSource) -> [UInt8] {
        var h = HmacSha256(key: key)
        message.withBytes { h.update($0) }
        return h.finish()
    }
}
