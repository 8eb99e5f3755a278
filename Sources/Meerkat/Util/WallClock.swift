import CMeerkat

extension Manager {
    /// Milliseconds since 1970 from the wall clock (boards without a clock start at 0;
    /// `sntpConnect` tells the real time).
    public static var wallClockMs: Int64 { mk_wall_ms() }
}
