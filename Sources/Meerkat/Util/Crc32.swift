/// CRC-32 as zlib's `crc32` computes it (IEEE, reflected 0xEDB88320): what the upload
/// apps answer, so a client can check that the stored bytes are its own.
public struct Crc32 {
    /// One entry per byte value, built on first use.
    private static let table: [UInt32] = (0..<256).map { (n: Int) -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    public mutating func update(_ bytes: ByteView) {
        var c = state
        Crc32.table.withUnsafeBufferPointer { t in
            for byte in bytes.buffer { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        state = c
    }

    /// The CRC of everything so far.
    public var value: UInt32 { ~state }

    /// `value` as eight lowercase hex digits (as `printf %08x`).
    public var hex: String { hex8(value) }
}

/// Eight lowercase hex digits (CRCs, temporary file names).
func hex8(_ v: UInt32) -> String {
    let digits: StaticString = "0123456789abcdef"
    var out: [UInt8] = []
    for shift in stride(from: 28, through: 0, by: -4) { out.append(digits.utf8Start[Int((v >> UInt32(shift)) & 15)]) }
    return String(decoding: out, as: UTF8.self)
}

extension Crc32 {
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { update(ByteView(bytes)) }

    /// The CRC-32 of `bytes` in one call.
    public static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c = Crc32()
        c.update(bytes)
        return c.value
    }

    public static func checksum(_ bytes: some ByteSource) -> UInt32 {
        bytes.withBytes { checksum($0) }
    }
}
