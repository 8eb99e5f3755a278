import CMeerkat

/// ECDSA P-256 over an image's SHA-256, checked with mbedTLS's pk layer against the
/// public key the firmware carries (`make ota-image` signs with the private half).
enum OtaSignature {
    /// The longest DER ECDSA P-256 signature: SEQUENCE of two INTEGERs of up to 33 bytes.
    static let maxCount = 72

    /// nil when `signature` is the key's over `sha256`, else why not.
    static func refusal(key: UnsafeRawBufferPointer, sha256: UnsafeRawBufferPointer, signature: UnsafeRawBufferPointer)
        -> OtaError?
    {
        precondition(sha256.count == Sha256.digestCount)
        let rc = mk_ecdsa_p256_verify(
            key.baseAddress?.assumingMemoryBound(to: UInt8.self), key.count,
            sha256.baseAddress?.assumingMemoryBound(to: UInt8.self),
            signature.baseAddress?.assumingMemoryBound(to: UInt8.self), signature.count)
        return rc == 0 ? nil : rc < 0 ? .badKey : .badSignature
    }

    /// False when `key` is not a P-256 public key (no image could ever be accepted).
    static func isUsable(key: UnsafeRawBufferPointer) -> Bool {
        var probe = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt8(0))
        return withUnsafeBytes(of: &probe) { p in
            refusal(key: key, sha256: UnsafeRawBufferPointer(rebasing: p[..<32]), signature: UnsafeRawBufferPointer(rebasing: p[32..<33]))
                != .badKey
        }
    }
}
