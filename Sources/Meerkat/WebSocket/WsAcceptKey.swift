/// Sec-WebSocket-Accept (RFC 6455 §4.2.2): base64 of SHA-1 over the key and the
/// protocol's GUID. The key must be strict base64 of 16 bytes (24 characters).
enum WsAcceptKey {
    /// Writes the 28-character accept value for `key` into `out`; false when the key is
    /// not base64 of 16 bytes.
    static func make(key: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) -> Bool {
        var raw = (UInt64(0), UInt64(0), UInt64(0))
        let decoded = withUnsafeMutableBytes(of: &raw) { Base64.decode(key, into: $0) }
        guard key.count == 24, decoded == 16, out.count >= 28 else { return false }
        var h = Sha1()
        h.update(key)
        h.update(StaticString("258EAFA5-E914-47DA-95CA-C5AB0DC85B11").rawBuffer)
        var digest = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digest) { h.finish(into: $0) }
        return withUnsafeBytes(of: &digest) { Base64.encode(UnsafeRawBufferPointer(rebasing: $0[0..<20]), into: out) } == 28
    }
}
