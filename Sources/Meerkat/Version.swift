import CMeerkat

/// Meerkat's release, in semantic versioning (README, "Versions"): the one place it is
/// written. The Makefile and scripts read it from this line, apps print it for
/// `--version`, bundles carry it in their names. Read it as `Meerkat.version`.
public let version = "0.9.0"

/// What a binary was built from, beside `version`.
public enum BuildInfo {
    /// The git revision of the tree (short, `-dirty` when it had uncommitted changes):
    /// firmware builds link it from build/BOARD/gen/revision.c; "unknown" in a SwiftPM
    /// build or outside git.
    public static var revision: String { String(cString: mk_build_revision()) }
}

#if !MEERKAT_BOARD_PROFILE
extension BuildInfo {
    /// The board profile (boards/NAME.mk) of a firmware build, generated into
    /// build/BOARD/gen/BoardProfile.swift; a SwiftPM build has none.
    public static var board: String { "host-dev" }
}
#endif
