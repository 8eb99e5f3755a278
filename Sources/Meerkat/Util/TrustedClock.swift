/// The wall clock an app and TLS can trust on a board without a real-time clock: pure
/// arithmetic, no system call (the manager passes both clocks in).
///
/// Until SNTP answers, the time is the system's, but never earlier than `floorMs` (the
/// firmware's build time, as systemd-timesyncd does): a board that boots in 1970 then
/// counts as built-today, not as older than every certificate. Once an answer came, the
/// time is that answer moved on by the monotonic clock, so a later jump of the system
/// clock (a user's `date -s`, a lost RTC) does not move it.
public struct TrustedClock: Equatable, Sendable {
    /// Nothing earlier is ever told (Unix ms).
    public let floorMs: Int64
    /// The last answer's Unix ms minus the monotonic ms at which it came; nil until one
    /// came.
    private(set) var offsetMs: Int64? = nil

    public init(floorMs: Int64) { self.floorMs = max(floorMs, 0) }

    /// Whether an SNTP answer set it (else it is the system's time, or the floor).
    public var isSynced: Bool { offsetMs != nil }

    /// An answer: `unixMs` was the time when the monotonic clock read `monotonicMs`. One
    /// whose offset would overflow is not taken.
    public mutating func sync(unixMs: Int64, monotonicMs: Int64) {
        let (offset, overflow) = unixMs.subtractingReportingOverflow(monotonicMs)
        if !overflow { offsetMs = offset }
    }

    /// The time (Unix ms) when the monotonic clock reads `monotonicMs` and the system's
    /// wall clock `systemMs`.
    public func now(monotonicMs: Int64, systemMs: Int64) -> Int64 {
        guard let offsetMs else { return max(systemMs, floorMs) }
        let (t, overflow) = monotonicMs.addingReportingOverflow(offsetMs)
        return overflow ? floorMs : max(t, floorMs)
    }
}
