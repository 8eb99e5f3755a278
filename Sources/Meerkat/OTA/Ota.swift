/// A signed firmware update received piece by piece (`begin`, `write` as the bytes
/// arrive, `end`), never held in RAM: each piece is hashed (SHA-256) and appended to a
/// temporary file in the install root's staging folder. `end` checks the size, the
/// SHA-256, the ECDSA P-256 signature over it (with the public key the firmware
/// carries) and that the image is an ELF executable for this board, then installs it
/// (`OtaReleases.install`). Every refusal removes the temporary; the running release is
/// never touched before the image is whole and verified.
/// Memory is fixed when the value is made: the digest, signature and header buffers are
/// reused by every update, and a `write` allocates nothing.
public struct Ota {
    public let releases: OtaReleases
    /// The signer's P-256 public key (PEM or DER), built into the firmware.
    public let publicKey: [UInt8]
    /// The largest image accepted, in bytes.
    public let maxImageSize: Int
    /// The ELF class and machine an image must have (this board's unless a test says).
    public var target = ElfTarget.thisBoard

    private var hash = Sha256()
    private var expected = [UInt8](repeating: 0, count: Sha256.digestCount)
    private var signature = [UInt8](repeating: 0, count: OtaSignature.maxCount)
    private var signatureCount = 0
    private var header = [UInt8](repeating: 0, count: ElfTarget.headerCount)
    private var announced = 0
    private var received = 0
    private var file: File?
    private var temporary = ""

    public init(releases: OtaReleases, publicKey: [UInt8], maxImageSize: Int = 32 << 20) {
        self.releases = releases
        self.publicKey = publicKey
        self.maxImageSize = maxImageSize
    }

    /// True between `begin` and `end` (or a refusal).
    public var inProgress: Bool { file != nil }

    /// Bytes received so far of the image being written.
    public var receivedCount: Int { received }

    /// Starts an update of `size` bytes whose SHA-256 is `sha256` (32 bytes) and whose
    /// signature over that digest is `signature` (DER, as `openssl dgst -sha256 -sign`
    /// writes it).
    public mutating func begin(size: Int, sha256: some ByteSource, signature: some ByteSource) throws(OtaError) {
        guard file == nil else { throw .busy }
        guard publicKey.withUnsafeBytes({ OtaSignature.isUsable(key: $0) }) else { throw .badKey }
        guard size <= maxImageSize else { throw .tooLarge }
        guard size >= 0, sha256.withBytes({ $0.count }) == Sha256.digestCount else { throw .corrupt }
        let count = signature.withBytes { $0.count }
        guard count > 0, count <= OtaSignature.maxCount else { throw .badSignature }
        expected.withUnsafeMutableBytes { out in sha256.withBytes { out.copyMemory(from: $0) } }
        self.signature.withUnsafeMutableBytes { out in signature.withBytes { out.copyMemory(from: $0) } }
        signatureCount = count
        do throws(FileError) {
            try releases.makeFolders()
            (file, temporary) = try File.createTemporary(for: releases.stagingFolder + "/image", mode: 0o755)
        } catch {
            throw .storage(error)
        }
        hash = Sha256()
        announced = size
        received = 0
    }

    /// Appends the next piece of the image.
    public mutating func write(_ chunk: some ByteSource) throws(OtaError) {
        guard let file else { throw .notStarted }
        try chunk.withBytes { (bytes) throws(OtaError) in
            guard bytes.count <= announced - received else {
                abort()
                throw .tooLarge
            }
            if received < ElfTarget.headerCount {
                let n = min(bytes.count, ElfTarget.headerCount - received)
                header.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: received).copyMemory(from: bytes.baseAddress!, byteCount: n) }
            }
            hash.update(bytes)
            do throws(FileError) {
                try file.write(ByteView(bytes))
            } catch {
                abort()
                throw .storage(error)
            }
            let before = received
            received += bytes.count
            // Refused as soon as the header shows another board: no point receiving the rest.
            if before < ElfTarget.headerCount && received >= ElfTarget.headerCount && !headerMatches() {
                abort()
                throw .wrongBoard
            }
        }
    }

    /// Checks the whole image and installs it as the current release; returns its id
    /// (the first 16 hex digits of its SHA-256). Refused: nothing installed, nothing left.
    @discardableResult
    public mutating func end() throws(OtaError) -> String {
        guard let file else { throw .notStarted }
        do throws(OtaError) {
            guard received == announced else { throw .truncated }
            var digest = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let matches = withUnsafeMutableBytes(of: &digest) { d in
                hash.finish(into: d)
                return expected.withUnsafeBytes { Crypto.constantTimeEquals(UnsafeRawBufferPointer(d), $0) }
            }
            guard matches else { throw .corrupt }
            let refusal = publicKey.withUnsafeBytes { key in
                expected.withUnsafeBytes { sha in
                    signature.withUnsafeBytes { sig in
                        OtaSignature.refusal(key: key, sha256: sha, signature: UnsafeRawBufferPointer(rebasing: sig[..<signatureCount]))
                    }
                }
            }
            if let refusal { throw refusal }
            guard headerMatches() else { throw .wrongBoard }
            do throws(FileError) { try file.sync() } catch { throw .storage(error) }
        } catch {
            abort()
            throw error
        }
        file.close()
        self.file = nil
        let id = expected.withUnsafeBytes { Crypto.hex(ByteView(UnsafeRawBufferPointer(rebasing: $0[..<8]))) }
        do throws(OtaError) {
            try releases.install(staged: temporary, id: id)
        } catch {
            _ = try? File.remove(temporary)
            throw error
        }
        return id
    }

    /// Drops the update being received and its temporary file.
    public mutating func abort() {
        guard let file else { return }
        file.close()
        _ = try? File.remove(temporary)
        self.file = nil
        received = 0
    }

    private func headerMatches() -> Bool {
        received >= ElfTarget.headerCount && header.withUnsafeBytes { target.matches($0) }
    }
}
