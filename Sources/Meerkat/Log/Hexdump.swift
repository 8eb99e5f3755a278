/// Mongoose's `is_hexdumping`: the bytes a connection reads and writes, logged at debug
/// level as a heading line (`conn 3 read 120`) and lines of 16 bytes, offset, hex and
/// ASCII (`0010  0d 0a 48 6f 73 74 ...  ..Host...`), formatted in the log's line buffer.
extension Log {
    static let hexBytesPerLine = 16

    /// Logs `bytes` that slot `slot` read (`written` false) or wrote.
    static func hexdump(slot: Int32, written: Bool, _ bytes: UnsafeRawBufferPointer) {
        guard enabled(.debug), bytes.count > 0 else { return }
        write(.debug, written ? "hexdump written: slot, bytes" : "hexdump read: slot, bytes", Int64(slot), Int64(bytes.count), nil)
        var offset = 0
        while offset < bytes.count {
            let piece = UnsafeRawBufferPointer(rebasing: bytes[offset..<min(offset + hexBytesPerLine, bytes.count)])
            var w = ByteWriter(base: line, capacity: lineMax - 1)
            start(&w, .debug)
            hexLine(&w, offset: offset, piece)
            emit(w)
            offset += hexBytesPerLine
        }
    }

    /// One line of a dump: 4 hex digits of offset, the bytes in hex (padded to a full
    /// line so the text lines up), the bytes as ASCII with `.` for the rest.
    static func hexLine(_ w: inout ByteWriter, offset: Int, _ piece: UnsafeRawBufferPointer) {
        appendHex(&w, UInt8(truncatingIfNeeded: offset >> 8))
        appendHex(&w, UInt8(truncatingIfNeeded: offset))
        w.append(byte: UInt8(ascii: " "))
        for i in 0..<hexBytesPerLine {
            w.append(byte: UInt8(ascii: " "))
            if i < piece.count {
                appendHex(&w, piece[i])
            } else {
                w.append(byte: UInt8(ascii: " "))
                w.append(byte: UInt8(ascii: " "))
            }
        }
        w.append(byte: UInt8(ascii: " "))
        w.append(byte: UInt8(ascii: " "))
        for b in piece { w.append(byte: b >= 0x20 && b < 0x7f ? b : UInt8(ascii: ".")) }
    }

    static func appendHex(_ w: inout ByteWriter, _ b: UInt8) {
        let digits: StaticString = "0123456789abcdef"
        w.append(byte: digits.utf8Start[Int(b >> 4)])
        w.append(byte: digits.utf8Start[Int(b & 15)])
    }
}
