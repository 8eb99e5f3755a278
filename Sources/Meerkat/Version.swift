/// Meerkat's release, in semantic versioning (README, "Versions"): the one place it is
/// written. The Makefile and scripts read it from this line, apps print it for
/// `--version`, bundles carry it in their names. Read it as `Meerkat.version`.
public let version = "0.9.0"

/// What a binary was built from, beside `version`: the board profile and the git
/// revision of the tree (`-dirty` when it had uncommitted changes). Firmware builds
/// generate both into build/BOARD/gen/BoardProfile.swift; a SwiftPM build has no board
/// profile and says so.
public enum BuildInfo {}

#if !MEERKAT_BOARD_PROFILE
extension BuildInfo {
    public static var board: String { "host-dev" }
    public static var revision: String { "unknown" }
}
#endif
