import Testing
@testable import Meerkat

/// Issue 26: the trusted wall clock's arithmetic (Util/TrustedClock.swift): the floor
/// while no SNTP answer came, the answer moved on by the monotonic clock after, and a
/// system-clock jump that does not move it.
@Suite struct TrustedClockTests {
    let built: Int64 = 1_796_000_000_000  // a build time (2026-12)

    @Test func unsyncedItIsTheSystemsTimeButNeverBeforeTheBuild() {
        let clock = TrustedClock(floorMs: built)
        #expect(!clock.isSynced)
        // A board that booted in 1970: the build time, not 1970.
        #expect(clock.now(monotonicMs: 5_000, systemMs: 5_000) == built)
        // A system clock already past the build: that clock.
        #expect(clock.now(monotonicMs: 5_000, systemMs: built + 42) == built + 42)
    }

    @Test func syncedItIsTheAnswerMovedOnByTheMonotonicClock() {
        var clock = TrustedClock(floorMs: built)
        let answer: Int64 = 1_800_000_000_000
        clock.sync(unixMs: answer, monotonicMs: 10_000)
        #expect(clock.isSynced)
        #expect(clock.now(monotonicMs: 10_000, systemMs: 0) == answer)
        #expect(clock.now(monotonicMs: 12_500, systemMs: 0) == answer + 2_500)
        // The system clock jumps (set by hand, to 1970 or to 2040): no effect.
        #expect(clock.now(monotonicMs: 12_500, systemMs: 2_208_988_800_000) == answer + 2_500)
        // A later answer replaces the earlier one.
        clock.sync(unixMs: answer + 60_000, monotonicMs: 20_000)
        #expect(clock.now(monotonicMs: 21_000, systemMs: 0) == answer + 61_000)
    }

    @Test func anAnswerBeforeTheBuildStillCountsAsTheBuild() {
        var clock = TrustedClock(floorMs: built)
        clock.sync(unixMs: 1_000, monotonicMs: 0)  // a server that is wrong, or lies
        #expect(clock.now(monotonicMs: 500, systemMs: 0) == built)
    }

    @Test func noFloorAndExtremesNeverTrap() {
        let unfloored = TrustedClock(floorMs: -5)  // a negative floor counts as none
        #expect(unfloored.floorMs == 0)
        #expect(unfloored.now(monotonicMs: 0, systemMs: 7) == 7)
        var clock = TrustedClock(floorMs: built)
        clock.sync(unixMs: Int64.max, monotonicMs: -1)  // would overflow: not taken
        #expect(!clock.isSynced)
        clock.sync(unixMs: Int64.max - 10, monotonicMs: 0)
        #expect(clock.now(monotonicMs: 100, systemMs: 0) == built)  // overflowed: the floor
    }
}
