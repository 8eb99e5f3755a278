import Testing
@testable import Meerkat
import MeerkatTesting

/// Failed-login throttling (Auth/LoginThrottle.swift) on the test clock.
@Suite struct LoginThrottleTests {
    static let a = SocketAddress("10.0.0.1", port: 40000)!
    static let b = SocketAddress("10.0.0.2", port: 40000)!

    func manager(_ configure: (inout Limits) -> Void = { _ in }) throws -> TestChannel {
        var limits = Limits()
        limits.loginFailuresPerSecond = 1000
        configure(&limits)
        return try TestChannel(limits: limits) { _, _ in }
    }

    @Test func delayGrowsThenLocksOut() throws {
        let c = try manager()
        let m = c.manager
        var waits: [Int] = []
        for _ in 0..<10 {
            #expect(m.loginRetryAfter(Self.a) == 0)
            let w = m.loginFailed(Self.a)
            waits.append(w)
            if w > 0 { #expect(m.loginRetryAfter(Self.a) == w) }
            if w < 900 { c.advanceClock(ms: w * 1000) }  // wait out each delay, not the lockout
        }
        #expect(waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 900])
        #expect(m.loginFailures(SocketAddress("10.0.0.1", port: 1)!) == 10)  // the port is not the key
        c.advanceClock(ms: 899_000)
        #expect(m.loginRetryAfter(Self.a) == 1)
        c.advanceClock(ms: 1000)
        #expect(m.loginRetryAfter(Self.a) == 0)
    }

    @Test func otherAddressUnaffectedAndSuccessForgets() throws {
        let c = try manager()
        let m = c.manager
        for _ in 0..<10 { m.loginFailed(Self.a) }
        #expect(m.loginRetryAfter(Self.a) == 900)
        #expect(m.loginRetryAfter(Self.b) == 0)
        m.loginFailed(Self.b)
        m.loginSucceeded(Self.b)
        #expect(m.loginFailures(Self.b) == 0)
        #expect(m.loginFailures(Self.a) == 10)
    }

    /// A LAN shares one /64 (fe80::/64 always): a neighbour's lockout is not the owner's.
    @Test func ipv6KeyedByItsWholeAddress() throws {
        let c = try manager()
        let m = c.manager
        let owner = SocketAddress("fe80::20", port: 2)!
        m.loginSucceeded(owner)
        for _ in 0..<10 { m.loginFailed(SocketAddress("fe80::30", port: 1)!) }
        #expect(m.loginRetryAfter(SocketAddress("fe80::30", port: 3)!) == 900)
        #expect(m.loginRetryAfter(owner) == 0)
        #expect(m.loginRetryAfter(SocketAddress("fe80::40", port: 2)!) == 0)
    }

    /// A host rotating through its /64 fills the table and then shares the overflow.
    @Test func ipv6RotatingThroughASlash64EndsInTheOverflow() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        for i in 1...4 { m.loginFailed(SocketAddress("2001:db8:1:2::\(i)", port: 1)!) }
        let waits = (5...9).map { m.loginFailed(SocketAddress("2001:db8:1:2::\($0)", port: 1)!) }
        #expect(waits == [0, 0, 0, 1, 2])
        #expect(m.loginRetryAfter(SocketAddress("2001:db8:1:2::ff", port: 1)!) == 2)
    }

    @Test func globalCapPerSecond() throws {
        let c = try manager { $0.loginFailuresPerSecond = 3 }
        let m = c.manager
        for i in 0..<3 { m.loginFailed(SocketAddress("10.1.0.\(i)", port: 1)!) }
        #expect(m.loginRetryAfter(Self.b) == 1)  // anyone waits out the second
        c.advanceClock(ms: 1000)
        #expect(m.loginRetryAfter(Self.b) == 0)
    }

    @Test func anAddressThatLoggedInIsNotHeldByTheGlobalCap() throws {
        let c = try manager { $0.loginFailuresPerSecond = 3 }
        let m = c.manager
        m.loginSucceeded(Self.a)  // the owner logged in from a before
        for i in 0..<3 { m.loginFailed(SocketAddress("10.1.0.\(i)", port: 1)!) }  // guessers fill the second
        #expect(m.loginRetryAfter(Self.b) == 1)
        #expect(m.loginRetryAfter(Self.a) == 0)
        #expect(m.loginRetryAfter(SocketAddress("10.0.0.1", port: 55555)!) == 0)  // another port of it
        for _ in 0..<4 { m.loginFailed(Self.a) }  // its own failures still slow it
        #expect(m.loginRetryAfter(Self.a) > 0)
    }

    /// Four addresses fill a table of 4 with recent failures; every later address shares one
    /// overflow entry.
    func filled(_ c: TestChannel) {
        for i in 0..<4 {
            c.manager.loginFailed(SocketAddress("10.2.0.\(i)", port: 1)!)
            c.advanceClock(ms: 10)
        }
    }

    /// The table's lockouts end 15 minutes after: a slot freed while the overflow is
    /// busy must not give the next rotating address its free failures and delays again.
    @Test func aSlotFreedDuringAnAttackStartsWhereTheOverflowIs() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        for i in 0..<4 {  // four addresses locked out
            for _ in 0..<10 { m.loginFailed(SocketAddress("10.4.0.\(i)", port: 1)!) }
        }
        c.advanceClock(ms: 800_000)
        for i in 0..<9 {  // the overflow, its delays waited out (63 s): before the slots free up
            let guesser = SocketAddress("10.5.0.\(i)", port: 1)!
            c.advanceClock(ms: m.loginRetryAfter(guesser) * 1000)
            m.loginFailed(guesser)
        }
        c.advanceClock(ms: 100_000)  // the four lockouts are over: their slots are free again
        let next = SocketAddress("10.6.0.1", port: 1)!
        #expect(m.loginRetryAfter(next) == 0)  // a try, in a slot of its own
        #expect(m.loginFailed(next) == 900)  // but no free failures: locked out at once
        let owner = SocketAddress("10.7.0.1", port: 1)!
        m.loginSucceeded(owner)
        #expect(m.loginFailed(owner) == 0)  // an address that logged in starts afresh
    }

    @Test func fullTableKeepsItsEntriesAndNewAddressesShareTheOverflow() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        for _ in 0..<10 { m.loginFailed(Self.a) }  // locked out
        c.advanceClock(ms: 1000)
        for i in 0..<3 { m.loginFailed(SocketAddress("10.2.0.\(i)", port: 1)!) }
        m.loginFailed(SocketAddress("10.2.0.9", port: 1)!)  // a fifth address: the table is full
        #expect(m.loginFailures(Self.a) == 10)  // a guesser cannot evict its locked-out address
        #expect(m.loginRetryAfter(Self.a) > 800)
        #expect(m.loginFailures(SocketAddress("10.2.0.9", port: 1)!) == 0)  // it has no entry of its own
    }

    @Test func aRotatingGuesserGetsSlowerThroughTheOverflow() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        filled(c)
        var waits: [Int] = []
        for i in 0..<12 {  // a new address each time, waiting out whatever it is told
            let guesser = SocketAddress("10.3.0.\(i)", port: 1)!
            let told = m.loginRetryAfter(guesser)
            c.advanceClock(ms: told * 1000)
            #expect(m.loginRetryAfter(guesser) == 0)
            waits.append(m.loginFailed(guesser))
        }
        #expect(waits == [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 64, 64])  // never locked out: it stands for every new address
        #expect(m.loginRetryAfter(SocketAddress("10.3.0.200", port: 1)!) == 64)  // an address never seen waits too
        #expect(m.loginRetryAfter(SocketAddress("10.2.0.3", port: 1)!) == 0)  // one in the table keeps its own count
    }

    @Test func theOwnerIsNotHeldByTheOverflow() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        m.loginSucceeded(Self.a)  // the owner logged in from a before
        filled(c)
        for i in 0..<6 { m.loginFailed(SocketAddress("10.3.0.\(i)", port: 1)!) }
        #expect(m.loginRetryAfter(Self.b) > 0)
        #expect(m.loginRetryAfter(Self.a) == 0)
        m.loginFailed(Self.a)  // a typo: it takes an entry of its own (the least recent goes)
        #expect(m.loginFailures(Self.a) == 1)
        #expect(m.loginFailures(SocketAddress("10.2.0.0", port: 1)!) == 0)
    }

    @Test func theOverflowEndsWhenTheTableHasRoomAgain() throws {
        let c = try manager { $0.loginThrottleEntries = 4 }
        let m = c.manager
        filled(c)
        for i in 0..<6 { m.loginFailed(SocketAddress("10.3.0.\(i)", port: 1)!) }
        #expect(m.loginRetryAfter(Self.b) > 0)
        c.advanceClock(ms: 901_000)  // the table's failures are older than a lockout
        #expect(m.loginRetryAfter(Self.b) == 0)
        m.loginFailed(Self.b)
        #expect(m.loginFailures(Self.b) == 1)
    }
}
