/// The DNS messages a board's resolver needs (RFC 1035, AAAA from RFC 3596): one query
/// out, one answer in. Pure: bytes in, addresses out, no allocation. An answer is taken
/// only when everything checks: the ID, the response bit, the question echoed back, every
/// length inside the packet, and compression pointers that point backwards (so they
/// cannot loop) and stay inside it.
enum DnsMessage {
    static let typeA: UInt16 = 1
    static let typeCNAME: UInt16 = 5
    static let typeAAAA: UInt16 = 28
    static let classIN: UInt16 = 1
    /// A name on the wire is at most 255 bytes (RFC 1035 §2.3.4).
    static let maxNameLength = 255
    /// Addresses kept from one answer.
    static let maxAddresses = 4

    /// Writes a recursive query for `name` (dotted, no trailing dot needed) into `out`;
    /// returns its length, or nil when the name is not a valid host name or `out` is short.
    static func writeQuery(id: UInt16, name: ByteView, type: UInt16, into out: UnsafeMutableRawBufferPointer) -> Int? {
        var w = ByteWriter(base: out.baseAddress!.assumingMemoryBound(to: UInt8.self), capacity: out.count)
        // Header: ID, flags (RD: recursion desired), one question, no other records.
        w.append16(id)
        w.append16(0x0100)
        w.append16(1)
        for _ in 0..<3 { w.append16(0) }
        guard writeName(name, &w) else { return nil }
        w.append16(type)
        w.append16(classIN)
        return w.overflowed ? nil : w.count
    }

    /// Labels of 1…63 letters, digits or hyphens, 255 bytes in all.
    private static func writeName(_ name: ByteView, _ w: inout ByteWriter) -> Bool {
        var text = name
        if text.count > 0 && text.buffer[text.count - 1] == UInt8(ascii: ".") { text = text.slice(0, text.count - 1) }
        guard text.count > 0, text.count <= maxNameLength - 2 else { return false }
        var start = 0
        let b = text.buffer
        while start <= text.count {
            var end = start
            while end < text.count && b[end] != UInt8(ascii: ".") { end += 1 }
            let length = end - start
            guard length >= 1 && length <= 63 else { return false }
            w.append(byte: UInt8(length))
            for i in start..<end {
                let c = b[i]
                guard
                    ASCII.isDigit(c) || (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z")
                        || c == UInt8(ascii: "-") || c == UInt8(ascii: "_")
                else { return false }
                w.append(byte: c)
            }
            start = end + 1
        }
        w.append(byte: 0)
        return true
    }

    enum Answer {
        /// The addresses found (up to `maxAddresses`; IPv4 in the first 4 bytes).
        case addresses(count: Int)
        /// The name does not exist (NXDOMAIN), or has no record of the type asked.
        case noSuchName
        case noData
        /// Not an answer to our question, or not well formed: ignore it, keep waiting.
        case ignored(StaticString)
        /// The answer did not fit in UDP (TC set); a board's resolver does not go on to TCP.
        case truncated
        /// The server answered with an error: its RCODE (2 SERVFAIL, 5 REFUSED…).
        case serverError(rcode: UInt8)

        /// For tests and logs: the case as short text.
        var summary: String {
            switch self {
            case let .addresses(count): return "addresses \(count)"
            case .noSuchName: return "nxdomain"
            case .noData: return "nodata"
            case let .ignored(why): return "ignored: \(why)"
            case .truncated: return "failed: truncated answer"
            case .serverError: return "failed: server error"
            }
        }
    }

    /// Reads an answer to query `id` for `name`/`type`. Addresses go to `addresses`
    /// (16 bytes each). `cut`: the datagram was longer than the buffer and `packet` is
    /// its start (a server that sent more than UDP's 512 bytes without setting TC): the
    /// records that arrived whole are used, and one that runs off the end is where the
    /// cut fell, not a fault.
    static func parseAnswer(
        _ packet: UnsafeRawBufferPointer, id: UInt16, name: ByteView, type: UInt16,
        addresses: UnsafeMutableRawBufferPointer, cut: Bool = false
    ) -> Answer {
        let n = packet.count
        guard n >= 12 else { return .ignored("shorter than a header") }
        let p = packet.baseAddress!.assumingMemoryBound(to: UInt8.self)
        func u16(_ at: Int) -> UInt16 { UInt16(p[at]) << 8 | UInt16(p[at + 1]) }
        guard u16(0) == id else { return .ignored("another ID") }
        let flags = u16(2)
        guard flags & 0x8000 != 0 else { return .ignored("not a response") }
        guard (flags >> 11) & 0xF == 0 else { return .ignored("not a standard query") }
        guard u16(4) == 1 else { return .ignored("not one question") }
        let answers = Int(u16(6))
        // The question must be ours.
        var at = 12
        guard let qEnd = skipName(p, n, at), qEnd + 4 <= n, nameEquals(p, n, at, name),
            u16(qEnd) == type, u16(qEnd + 2) == classIN
        else { return .ignored("another question") }
        if flags & 0x0200 != 0 { return .truncated }
        switch flags & 0xF {
        case 0: break
        case 3: return .noSuchName
        default: return .serverError(rcode: UInt8(flags & 0xF))
        }
        at = qEnd + 4
        // Answers: records of our type whose owner is the name or a CNAME target of it.
        var owner = 12  // offset of the name the records must belong to
        var found = 0
        // Past the end of a cut datagram: what was found, or TC's answer when nothing was.
        func pastTheEnd(_ why: StaticString) -> Answer {
            cut ? (found > 0 ? .addresses(count: found) : .truncated) : .ignored(why)
        }
        for _ in 0..<answers {
            guard let end = skipName(p, n, at), end + 10 <= n else { return pastTheEnd("record outside the packet") }
            let rtype = u16(end), rclass = u16(end + 2)
            let rdlength = Int(u16(end + 8))
            let rdata = end + 10
            guard rdata + rdlength <= n else { return pastTheEnd("record data outside the packet") }
            if rclass == classIN && sameName(p, n, at, owner) {
                if rtype == typeCNAME {
                    guard skipName(p, n, rdata) != nil else { return .ignored("bad CNAME") }
                    owner = rdata
                } else if rtype == type {
                    let size = type == typeA ? 4 : 16
                    guard rdlength == size else { return .ignored("bad address length") }
                    if found < maxAddresses && (found + 1) * 16 <= addresses.count {
                        let slot = addresses.baseAddress! + found * 16
                        slot.initializeMemory(as: UInt8.self, repeating: 0, count: 16)
                        slot.copyMemory(from: p + rdata, byteCount: size)
                        found += 1
                    }
                }
            }
            at = rdata + rdlength
        }
        return found > 0 ? .addresses(count: found) : .noData
    }

    /// The offset just past the name at `at` (past its pointer, if it ends in one), or
    /// nil when it leaves the packet, is longer than 255 bytes, or points forward.
    static func skipName(_ p: UnsafePointer<UInt8>, _ n: Int, _ start: Int) -> Int? {
        var at = start
        var end: Int? = nil
        var length = 0
        var lowest = start  // every pointer must go below the last position: no loops
        while true {
            guard at < n else { return nil }
            let c = p[at]
            if c == 0 { return end ?? at + 1 }
            switch c & 0xC0 {
            case 0xC0:
                guard at + 1 < n else { return nil }
                let target = Int(c & 0x3F) << 8 | Int(p[at + 1])
                guard target < lowest else { return nil }
                if end == nil { end = at + 2 }
                lowest = target
                at = target
            case 0x00:
                length += Int(c) + 1
                guard length <= maxNameLength, at + 1 + Int(c) <= n else { return nil }
                at += 1 + Int(c)
            default:
                return nil  // 0x40, 0x80: label types nobody uses
            }
        }
    }

    /// Calls `body` with each label of the (valid) name at `at`, following pointers.
    private static func forEachLabel(_ p: UnsafePointer<UInt8>, _ at: Int, _ body: (UnsafePointer<UInt8>, Int) -> Bool) -> Bool {
        var at = at
        while true {
            let c = p[at]
            if c == 0 { return true }
            if c & 0xC0 == 0xC0 {
                at = Int(c & 0x3F) << 8 | Int(p[at + 1])
                continue
            }
            guard body(p + at + 1, Int(c)) else { return false }
            at += 1 + Int(c)
        }
    }

    /// Whether the name at `at` spells `name` (case-insensitive, trailing dot optional).
    static func nameEquals(_ p: UnsafePointer<UInt8>, _ n: Int, _ at: Int, _ name: ByteView) -> Bool {
        guard skipName(p, n, at) != nil else { return false }
        var text = name
        if text.count > 0 && text.buffer[text.count - 1] == UInt8(ascii: ".") { text = text.slice(0, text.count - 1) }
        let b = text.buffer
        var i = 0
        let ok = forEachLabel(p, at) { label, length in
            if i > 0 {
                guard i < b.count, b[i] == UInt8(ascii: ".") else { return false }
                i += 1
            }
            guard i + length <= b.count else { return false }
            for k in 0..<length where label[k] | 0x20 != b[i + k] | 0x20 { return false }
            i += length
            return true
        }
        return ok && i == b.count
    }

    /// Whether two (valid) names in the packet are the same, case-insensitively.
    private static func sameName(_ p: UnsafePointer<UInt8>, _ n: Int, _ a: Int, _ b: Int) -> Bool {
        guard let _ = skipName(p, n, a), let _ = skipName(p, n, b) else { return false }
        var x = a, y = b
        while true {
            while p[x] & 0xC0 == 0xC0 { x = Int(p[x] & 0x3F) << 8 | Int(p[x + 1]) }
            while p[y] & 0xC0 == 0xC0 { y = Int(p[y] & 0x3F) << 8 | Int(p[y + 1]) }
            let lx = Int(p[x]), ly = Int(p[y])
            guard lx == ly else { return false }
            if lx == 0 { return true }
            for k in 1...lx where p[x + k] | 0x20 != p[y + k] | 0x20 { return false }
            x += 1 + lx
            y += 1 + ly
        }
    }
}

extension ByteWriter {
    /// A 16-bit number in network order.
    mutating func append16(_ value: UInt16) {
        append(byte: UInt8(value >> 8))
        append(byte: UInt8(value & 0xFF))
    }
}
