/// The WebSocket frame codec (RFC 6455 §5): pure, bytes in and answers out, no
/// allocation. Lengths are read as `UInt64`, so a 32-bit board answers as a 64-bit one.
enum WsFrame {
    struct Header: Equatable {
        var fin: Bool
        var opcode: UInt8
        var masked: Bool
        var mask: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        /// Bytes of header (2 to 14).
        var headerLength: Int
        var payloadLength: UInt64

        var isControl: Bool { opcode >= 8 }

        static func == (a: Header, b: Header) -> Bool {
            a.fin == b.fin && a.opcode == b.opcode && a.masked == b.masked && a.headerLength == b.headerLength
                && a.payloadLength == b.payloadLength && a.mask.0 == b.mask.0 && a.mask.1 == b.mask.1
                && a.mask.2 == b.mask.2 && a.mask.3 == b.mask.3
        }
    }

    enum Parsed: Equatable {
        case incomplete
        case header(Header)
        /// A protocol error: close with this code (1002).
        case failed(UInt16)
    }

    /// Parses the frame header at `p`. `fromClient`: frames must be masked (a server's
    /// view); frames from a server must not be.
    static func parseHeader(_ p: UnsafePointer<UInt8>, _ n: Int, fromClient: Bool = true) -> Parsed {
        guard n >= 2 else { return .incomplete }
        let b0 = p[0], b1 = p[1]
        let opcode = b0 & 0x0F
        guard b0 & 0x70 == 0 else { return .failed(1002) }  // RSV without an extension
        guard opcode <= 2 || (opcode >= 8 && opcode <= 10) else { return .failed(1002) }  // reserved opcode
        let masked = b1 & 0x80 != 0
        guard masked == fromClient else { return .failed(1002) }
        let fin = b0 & 0x80 != 0
        var length = UInt64(b1 & 0x7F)
        var at = 2
        if length == 126 {
            guard n >= 4 else { return .incomplete }
            length = UInt64(p[2]) << 8 | UInt64(p[3])
            at = 4
        } else if length == 127 {
            guard n >= 10 else { return .incomplete }
            length = 0
            for i in 2..<10 { length = length << 8 | UInt64(p[i]) }
            guard length >> 63 == 0 else { return .failed(1002) }  // the top bit must be 0
            at = 10
        }
        if opcode >= 8 && (!fin || length > 125) { return .failed(1002) }  // control: whole, short
        var header = Header(
            fin: fin, opcode: opcode, masked: masked, headerLength: at + (masked ? 4 : 0),
            payloadLength: length)
        if masked {
            guard n >= at + 4 else { return .incomplete }
            header.mask = (p[at], p[at + 1], p[at + 2], p[at + 3])
        }
        return .header(header)
    }

    /// Whether `buf` begins with a whole frame from a client, or with a header that is
    /// already wrong (the answer, a close, needs nothing more).
    static func holdsWholeFrame(_ buf: UnsafeRawBufferPointer) -> Bool {
        guard let p = buf.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        switch parseHeader(p, buf.count) {
        case .incomplete: return false
        case .failed: return true
        case .header(let h): return h.payloadLength <= UInt64(buf.count - h.headerLength)
        }
    }

    /// Unmasks `count` bytes in place; `offset` is their position in the payload.
    static func unmask(_ p: UnsafeMutablePointer<UInt8>, _ count: Int, _ mask: (UInt8, UInt8, UInt8, UInt8), offset: Int = 0) {
        var k = mask
        for _ in 0..<(offset & 3) { k = (k.1, k.2, k.3, k.0) }
        var i = 0
        while i + 4 <= count {
            p[i] ^= k.0
            p[i + 1] ^= k.1
            p[i + 2] ^= k.2
            p[i + 3] ^= k.3
            i += 4
        }
        if i < count { p[i] ^= k.0 }
        if i + 1 < count { p[i + 1] ^= k.1 }
        if i + 2 < count { p[i + 2] ^= k.2 }
    }

    /// Writes an unmasked header (a server's frame) for a payload of `length` bytes;
    /// returns its size (2, 4 or 10). `out` must hold 10 bytes.
    static func writeHeader(_ out: UnsafeMutablePointer<UInt8>, fin: Bool, opcode: UInt8, length: UInt64) -> Int {
        out[0] = (fin ? 0x80 : 0) | (opcode & 0x0F)
        if length < 126 {
            out[1] = UInt8(length)
            return 2
        }
        if length <= 0xFFFF {
            out[1] = 126
            out[2] = UInt8(length >> 8)
            out[3] = UInt8(length & 0xFF)
            return 4
        }
        out[1] = 127
        for i in 0..<8 { out[2 + i] = UInt8((length >> UInt64(56 - 8 * i)) & 0xFF) }
        return 10
    }

    /// Whether a close frame's status code may be sent on the wire (RFC 6455 §7.4).
    static func isValidCloseCode(_ code: UInt16) -> Bool {
        switch code {
        case 1000...1003, 1007...1011, 3000...4999: return true
        default: return false
        }
    }
}
