#if !MEERKAT_BOARD_PROFILE
extension Limits {
    /// The board's limits. Firmware builds generate this from boards/<name>.mk (and
    /// define MEERKAT_BOARD_PROFILE); host builds use the defaults.
    public static var board: Limits { Limits() }
}
#endif
