import CMeerkat

/// Failed logins per client address, in a fixed table (`Limits.loginThrottleEntries`).
/// An address may fail `freeFailures` times; each failure after that makes it wait
/// twice as long before its next try (1 s, 2 s, 4 s… up to `maxDelayS`), and at
/// `lockoutFailures` it is locked out for `lockoutS`. An IPv6 client is keyed by its
/// whole address, not its /64: on a LAN every host shares the /64 (fe80::/64 always),
/// so a neighbour's ten wrong guesses locked out the owner, at an address the owner had
/// logged in from too; a host rotating through its /64 ends in the overflow below, as
/// one rotating through 127/8 does. On top, at most
/// `Limits.loginFailuresPerSecond` failures are accepted a second from everyone
/// together, which bounds the time the loop spends deriving password hashes
/// (PBKDF2 takes 100–250 ms by design) however many addresses guess.
///
/// Full table (every entry failed within `lockoutS`): an address with no entry shares
/// one overflow entry with every other such address, and waits as that entry's
/// failures say. Evicting the least recent entry instead let a guesser rotating
/// through more addresses than entries (a LAN's IPv6 addresses, 127/8) start each one
/// afresh, free of any delay or lockout, at the global cap's 5 guesses a second for as
/// long as it ran. Now its addresses in the table are delayed and locked out one by
/// one, and all the others together get the delays of one address, up to `maxDelayS`.
/// The overflow is never locked out: it stands for every new address, the owner's new
/// laptop too. But it is one slot: a guesser that asks again every few milliseconds
/// takes it the moment it opens, so while such a guesser runs a new address gets in
/// only by luck (README "Logins and sessions", known limit); the owner's last
/// `trustedCount` addresses are exempt from it.
///
/// The global cap would also refuse the owner while such a guesser keeps it full (a
/// few threads rotating through 127.x or a LAN's addresses did, for as long as they
/// ran). So the last `trustedCount` addresses that logged in are exempt from it (not
/// from their own per-address delays): only a right password puts an address there,
/// so a guesser can neither join nor push the owner out.
struct LoginThrottle {
    static let freeFailures: UInt32 = 3
    static let maxDelayS: Int64 = 64
    static let lockoutFailures: UInt32 = 10
    static let lockoutS: Int64 = 900
    static let trustedCount = 4

    struct Entry {
        var key = mk_addr()
        var inUse = false
        var failures: UInt32 = 0
        var lastFailure: Int64 = 0
        /// No try before this (ms, the loop's clock).
        var notBefore: Int64 = 0
    }

    let capacity: Int
    private let entries: UnsafeMutablePointer<Entry>
    /// Addresses (keys) that logged in lately, a ring; `is_ipv6` 2 marks an empty one.
    private let trusted: UnsafeMutablePointer<mk_addr>
    private var trustedNext = 0
    /// Failures of addresses that found the table full (`Entry.key` unused).
    private(set) var overflow = Entry()
    /// The global cap: failures in the current one-second window.
    private(set) var windowStart: Int64 = Int64.min / 2  // long ago, without overflow
    private(set) var windowFailures = 0

    init(capacity: Int) {
        self.capacity = capacity
        entries = .allocate(capacity: max(capacity, 1))
        entries.initialize(repeating: Entry(), count: max(capacity, 1))
        var empty = mk_addr()
        empty.is_ipv6 = 2
        trusted = .allocate(capacity: Self.trustedCount)
        trusted.initialize(repeating: empty, count: Self.trustedCount)
    }

    func deallocate() {
        entries.deallocate()
        trusted.deallocate()
    }

    private func isTrusted(_ key: mk_addr) -> Bool {
        for i in 0..<Self.trustedCount where Self.same(trusted[i], key) { return true }
        return false
    }

    /// The address without its port.
    static func key(_ address: SocketAddress) -> mk_addr {
        var k = address.raw
        k.port = 0
        return k
    }

    private func find(_ key: mk_addr) -> Int? {
        for i in 0..<capacity where entries[i].inUse && Self.same(entries[i].key, key) { return i }
        return nil
    }

    /// Field by field: a copied C struct's padding byte is not guaranteed to be copied.
    private static func same(_ a: mk_addr, _ b: mk_addr) -> Bool {
        var x = a.ip, y = b.ip
        return a.is_ipv6 == b.is_ipv6 && memcmp(&x, &y, MemoryLayout.size(ofValue: x)) == 0
    }

    /// Seconds `address` must wait before a try is checked; 0 when it may try now.
    mutating func retryAfter(_ address: SocketAddress, now: Int64, globalCap: Int) -> Int {
        let key = Self.key(address)
        let trusted = isTrusted(key)
        if let i = find(key) {
            if now < entries[i].notBefore { return Self.seconds(until: entries[i].notBefore, now) }
        } else if !trusted && place(now: now) == nil && now < overflow.notBefore {
            return Self.seconds(until: overflow.notBefore, now)
        }
        if now - windowStart < 1000 && windowFailures >= globalCap && !trusted { return 1 }
        return 0
    }

    private static func seconds(until notBefore: Int64, _ now: Int64) -> Int { Int((notBefore - now + 999) / 1000) }

    /// Counts a failed try from `address`; the seconds it must now wait (0: none).
    mutating func failed(_ address: SocketAddress, now: Int64) -> Int {
        if now - windowStart >= 1000 {
            windowStart = now
            windowFailures = 0
        }
        windowFailures += 1
        let key = Self.key(address)
        guard let i = find(key) ?? place(now: now) ?? (isTrusted(key) ? leastRecent() : nil) else {
            // The table is full of recent guessers: this address counts in the overflow.
            if now - overflow.lastFailure > Self.lockoutS * 1000 { overflow = Entry() }
            return Self.count(&overflow, now: now, lockout: false)
        }
        if !entries[i].inUse || !Self.same(entries[i].key, key) {
            entries[i] = Entry(key: key, inUse: true, failures: inherited(key, now: now))
        }
        return Self.count(&entries[i], now: now, lockout: true)
    }

    /// The failures a new entry starts with. A slot freed while the table is under
    /// attack (the overflow failed within a lockout) starts where the overflow is, one
    /// short of a lockout at most: else a guesser rotating addresses took each slot
    /// freed 15 minutes after its lockout for the free failures and the delays, 10
    /// checked guesses a slot, ~2,400 an hour over 64 slots, instead of 1. An address
    /// that logged in lately starts afresh.
    private func inherited(_ key: mk_addr, now: Int64) -> UInt32 {
        guard overflow.failures > 0, now - overflow.lastFailure <= Self.lockoutS * 1000, !isTrusted(key) else { return 0 }
        return min(overflow.failures, Self.lockoutFailures - 1)
    }

    /// One more failure in `entry`: the seconds it must now wait (1, 2, 4… after the
    /// free ones; the lockout at `lockoutFailures`, else at most `maxDelayS`).
    private static func count(_ entry: inout Entry, now: Int64, lockout: Bool) -> Int {
        entry.failures &+= 1
        entry.lastFailure = now
        let n = entry.failures
        var delayS: Int64 = 0
        if lockout && n >= lockoutFailures {
            delayS = lockoutS
        } else if n > freeFailures {
            delayS = min(Int64(1) << Int64(min(n - freeFailures - 1, 16)), maxDelayS)
        }
        entry.notBefore = now + delayS * 1000
        return Int(delayS)
    }

    /// `address` logged in: its failures are forgotten, and the global cap no longer
    /// applies to it.
    mutating func succeeded(_ address: SocketAddress) {
        let key = Self.key(address)
        if let i = find(key) { entries[i] = Entry() }
        guard !isTrusted(key) else { return }
        trusted[trustedNext] = key
        trustedNext = (trustedNext + 1) % Self.trustedCount
    }

    /// Failures counted for `address` (0 when it has no entry).
    func failures(_ address: SocketAddress) -> UInt32 {
        find(Self.key(address)).map { entries[$0].failures } ?? 0
    }

    /// A free entry, or one whose last failure is older than a lockout; nil when every
    /// entry failed more recently (the table is full).
    private func place(now: Int64) -> Int? {
        for i in 0..<capacity where !entries[i].inUse || now - entries[i].lastFailure > Self.lockoutS * 1000 { return i }
        return nil
    }

    /// The entry failed least recently: where an address that logged in lately counts its
    /// own failures when the table is full, so that they stay its own (it is exempt
    /// from the overflow's delays, as from the global cap).
    private func leastRecent() -> Int {
        var oldest = 0
        for i in 0..<capacity where entries[i].lastFailure < entries[oldest].lastFailure { oldest = i }
        return oldest
    }
}
