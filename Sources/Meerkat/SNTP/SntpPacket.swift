/// The SNTP v4 codec (RFC 4330; NTP's packet of RFC 5905 §7.3): pure, 48 bytes out and
/// 48 bytes in, no allocation. Every timestamp is read as a fixed-width integer, so a
/// 32-bit board answers as a 64-bit one.
///
/// The request carries no clock of ours: its transmit timestamp is a random cookie the
/// server must echo as its originate timestamp (RFC 5905 §8's check against spoofed and
/// stale answers; chrony does the same for privacy). The round trip is measured on the
/// monotonic clock, so the answer is right whatever the board's wall clock says.
enum SntpPacket {
    static let size = 48
    /// Seconds from NTP's epoch (1900) to Unix's (1970).
    static let unixOffset: Int64 = 2_208_988_800

    enum Answer: Equatable {
        /// Unix time in ms at the moment the answer arrived.
        case time(Int64)
        /// The server asked us to go away (stratum 0, "kiss-o'-death", RFC 4330 §8).
        case kissOfDeath
        /// Not an answer to our request, or not a usable one: ignored.
        case invalid
    }

    /// Writes a client request (LI 0, version 4, mode 3) with `cookie` as its transmit
    /// timestamp into `out` (48 bytes).
    static func request(_ out: UnsafeMutableRawBufferPointer, cookie: UInt64) {
        for i in 0..<size { out[i] = 0 }
        out[0] = 0 << 6 | 4 << 3 | 3
        writeStamp(out, at: 40, cookie)
    }

    /// Reads a server's answer to the request that carried `cookie`, received
    /// `roundTripMs` after it was sent. The time is the server's transmit timestamp
    /// plus half of the round trip the server did not spend (RFC 4330 §5).
    static func parse(_ p: UnsafeRawBufferPointer, cookie: UInt64, roundTripMs: Int64) -> Answer {
        guard p.count >= size else { return .invalid }
        let leap = p[0] >> 6, version = (p[0] >> 3) & 7, mode = p[0] & 7
        guard mode == 4, version >= 3 && version <= 4 else { return .invalid }
        guard readStamp(p, at: 24) == cookie else { return .invalid }  // not our request's answer
        let stratum = p[1]
        if stratum == 0 { return .kissOfDeath }
        guard stratum <= 15, leap != 3 else { return .invalid }  // 16+: unsynchronised; LI 3: alarm
        let received = readStamp(p, at: 32), sent = readStamp(p, at: 40)
        guard sent != 0, received != 0, let serverMs = unixMs(sent), let receivedMs = unixMs(received) else {
            return .invalid
        }
        let held = max(serverMs - receivedMs, 0)  // time the server spent on it
        return .time(serverMs + max(roundTripMs - held, 0) / 2)
    }

    /// An NTP timestamp (32.32 fixed point) as Unix ms. Era 0 runs 1900–2036; a seconds
    /// field with its top bit clear is taken as era 1 (from 7 February 2036), as RFC 4330
    /// §3 suggests. Nil before 1970.
    static func unixMs(_ stamp: UInt64) -> Int64? {
        let seconds = Int64(stamp >> 32)
        let era: Int64 = seconds < 0x8000_0000 ? 1 << 32 : 0
        let unix = seconds + era - unixOffset
        guard unix >= 0 else { return nil }
        return unix * 1000 + Int64(((stamp & 0xFFFF_FFFF) * 1000) >> 32)
    }

    private static func readStamp(_ p: UnsafeRawBufferPointer, at i: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<8 { v = v << 8 | UInt64(p[i + k]) }
        return v
    }

    private static func writeStamp(_ p: UnsafeMutableRawBufferPointer, at i: Int, _ v: UInt64) {
        for k in 0..<8 { p[i + k] = UInt8(truncatingIfNeeded: v >> (56 - 8 * UInt64(k))) }
    }
}
