import CMeerkat

extension Manager {
    /// Fills `buffer` with cryptographically secure random bytes: mbedTLS's CTR-DRBG
    /// (AES-256), seeded once from the kernel's entropy, the generator the library's own
    /// WebSocket keys and masks come from. For session tokens, salts, nonces. False only
    /// when the generator could not be seeded (no entropy source); then `buffer` must not
    /// be used.
    public func random(into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        buffer.isEmpty || mk_random(buffer.baseAddress, buffer.count) == 0
    }

    /// `count` random bytes as a new array, or nil without an entropy source.
    public func random(count: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: max(count, 0))
        return out.withUnsafeMutableBytes { random(into: $0) } ? out : nil
    }
}
