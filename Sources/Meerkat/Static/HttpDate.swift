/// HTTP dates (RFC 9110 §5.6.7, IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"), written
/// and read without a calendar library: days from the civil date and back (the
/// proleptic Gregorian calendar, as HTTP uses). Seconds are `Int64` on every board.
enum HttpDate {
    private static let days: StaticString = "ThuFriSatSunMonTueWed"  // 1970-01-01 was a Thursday
    private static let months: StaticString = "JanFebMarAprMayJunJulAugSepOctNovDec"

    /// Writes `seconds` since 1970 (UTC) in IMF-fixdate form (29 bytes).
    static func write(_ seconds: Int64, _ w: inout ByteWriter) {
        let t = max(seconds, 0)
        let day = t / 86_400
        let rest = t % 86_400
        let (y, m, d) = civil(fromDays: day)
        w.append(UnsafeRawBufferPointer(rebasing: days.rawBuffer[Int(day % 7) * 3..<Int(day % 7) * 3 + 3]))
        w.append(", ")
        two(Int(d), &w)
        w.append(byte: ASCII.space)
        w.append(UnsafeRawBufferPointer(rebasing: months.rawBuffer[Int(m - 1) * 3..<Int(m - 1) * 3 + 3]))
        w.append(byte: ASCII.space)
        w.append(decimal: Int(y))
        w.append(byte: ASCII.space)
        two(Int(rest / 3600), &w)
        w.append(byte: UInt8(ascii: ":"))
        two(Int(rest / 60 % 60), &w)
        w.append(byte: UInt8(ascii: ":"))
        two(Int(rest % 60), &w)
        w.append(" GMT")
    }

    /// Seconds since 1970 of an IMF-fixdate; nil for anything else (RFC 9110: a
    /// conditional with an invalid date is ignored).
    static func parse(_ text: ByteView) -> Int64? {
        let v = text.trimmingSpaces()
        guard v.count == 29 else { return nil }
        let b = v.buffer
        func number(_ at: Int, _ n: Int) -> Int64? {
            var value: Int64 = 0
            for i in at..<at + n {
                guard ASCII.isDigit(b[i]) else { return nil }
                value = value * 10 + Int64(b[i] - 48)
            }
            return value
        }
        guard b[3] == UInt8(ascii: ","), b[4] == ASCII.space, b[7] == ASCII.space, b[11] == ASCII.space,
            b[16] == ASCII.space, b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"),
            v.slice(25, 29) == " GMT",
            let d = number(5, 2), let y = number(12, 4), let h = number(17, 2),
            let mi = number(20, 2), let s = number(23, 2)
        else { return nil }
        var month: Int64 = 0
        for m in 0..<12 where v.slice(8, 11).equals(UnsafeRawBufferPointer(rebasing: months.rawBuffer[m * 3..<m * 3 + 3])) {
            month = Int64(m + 1)
        }
        guard month > 0, d >= 1, d <= 31, h < 24, mi < 60, s < 61 else { return nil }
        return days(fromCivil: y, month, d) * 86_400 + h * 3600 + mi * 60 + s
    }

    /// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
    static func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The civil date of a day count since 1970-01-01.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    private static func two(_ n: Int, _ w: inout ByteWriter) {
        w.append(byte: UInt8(48 + n / 10))
        w.append(byte: UInt8(48 + n % 10))
    }
}
