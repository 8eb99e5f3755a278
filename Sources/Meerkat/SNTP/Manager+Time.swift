import CMeerkat

/// The manager's trusted wall clock (Util/TrustedClock.swift): what apps read as the
/// time and what TLS checks certificate dates against. Every SNTP answer (`.sntpTime`)
/// syncs it before the handler hears of it, and (`setsSystemClock`) sets the system
/// clock too when the process may (CAP_SYS_TIME) and the system's is a second or more
/// off.
extension Manager {
    /// The time, Unix ms: the last SNTP answer moved on by the monotonic clock, else the
    /// system's wall clock; never earlier than the firmware's build time
    /// (`Manager.timeFloorMs`).
    public var timeMs: Int64 { services.clock.now(monotonicMs: mk_now_ms(), systemMs: mk_wall_ms()) }

    /// Whether an SNTP answer came (`sntpConnect`): `timeMs` is then the server's time.
    public var timeSynced: Bool { services.clock.isSynced }

    /// The earliest time `timeMs` tells (Unix ms): when the firmware's source was made
    /// (SOURCE_DATE_EPOCH, else its commit's time); 0 in a SwiftPM build.
    public static var timeFloorMs: Int64 { Int64(mk_build_epoch()) * 1000 }

    /// Whether an SNTP answer also sets the system clock (tried only when it is a second
    /// or more off). Off by default: a library does not touch the machine's clock unless
    /// its app says so (device-app does). Without CAP_SYS_TIME the attempt fails, is
    /// logged once, and `timeMs` is right all the same.
    public var setsSystemClock: Bool {
        get { services.setsSystemClock }
        set { services.setsSystemClock = newValue }
    }

    /// An SNTP answer: `unixMs` is the time now.
    func timeAnswered(_ unixMs: Int64) {
        services.clock.sync(unixMs: unixMs, monotonicMs: mk_now_ms())
        if services.setsSystemClock { setSystemClock(unixMs) }
        resumeTimeWaiters()
    }

    private func setSystemClock(_ unixMs: Int64) {
        let off = mk_wall_ms() - unixMs
        guard off >= 1000 || off <= -1000 else { return }
        let r = mk_set_wall_ms(unixMs)
        if r == 0 {
            Log.info("time: system clock set from SNTP, moved by ms ", -off)
        } else if !services.clockSetRefused {
            services.clockSetRefused = true  // said once: every answer would fail alike
            Log.error("time: cannot set the system clock (no CAP_SYS_TIME?); the app's clock is right. errno ", Int64(-r))
        }
    }
}
