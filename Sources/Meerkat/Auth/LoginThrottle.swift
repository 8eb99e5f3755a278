import CMeerkat

/// Failed logins per client address, in a fixed table (`Limits.loginThrottleEntries`).
/// An address may fail `freeFailures` times; each failure after that makes it wait
/// twice as long before its next try (1 s, 2 s, 4 s… up to `maxDelayS`), and at
/// `lockoutFailures` it is locked out for `lockoutS`. An IPv6 client is keyed by its
/// /64, since one host commonly holds a whole /64. On top, at most
/// `Limits.loginFailuresPerSecond` failures are accepted a second from everyone
/// together, which bounds the time the loop spends deriving password hashes
/// (PBKDF2 takes 100–250 ms by design) however many addresses guess.
///
/// Full table: the entry whose last failure is oldest goes. An attacker with more
/// addresses than entries thus forgets its own oldest entries first; it cannot evict a
/// recent guesser faster than it spends its own failures, and those are capped
/// globally, so it gains at most `loginFailuresPerSecond` guesses a second in all.
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

    /// The address without its port (and an IPv6 one cut to its /64).
    static func key(_ address: SocketAddress) -> mk_addr {
        var k = address.raw
        k.port = 0
        if k.is_ipv6 != 0 { withUnsafeMutableBytes(of: &k.ip) { for i in 8..<16 { $0[i] = 0 } } }
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
        if let i = find(Self.key(address)), now < entries[i].notBefore {
            return Int((entries[i].notBefore - now + 999) / 1000)
        }
        if now - windowStart < 1000 && windowFailures >= globalCap && !isTrusted(Self.key(address)) { return 1 }
        return 0
    }

    /// Counts a failed try from `address`; the seconds it must now wait (0: none).
    mutating func failed(_ address: SocketAddress, now: Int64) -> Int {
        if now - windowStart >= 1000 {
            windowStart = now
            windowFailures = 0
        }
        windowFailures += 1
        let key = Self.key(address)
        let i = find(key) ?? place(now: now)
        if !entries[i].inUse || !Self.same(entries[i].key, key) { entries[i] = Entry(key: key, inUse: true) }
        entries[i].failures &+= 1
        entries[i].lastFailure = now
        let n = entries[i].failures
        var delayS: Int64 = 0
        if n >= Self.lockoutFailures {
            delayS = Self.lockoutS
        } else if n > Self.freeFailures {
            delayS = min(Int64(1) << Int64(n - Self.freeFailures - 1), Self.maxDelayS)
        }
        entries[i].notBefore = now + delayS * 1000
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

    /// A free entry, one whose lockout is long over, else the one failed least recently.
    private func place(now: Int64) -> Int {
        var oldest = 0
        for i in 0..<capacity {
            if !entries[i].inUse || now - entries[i].lastFailure > Self.lockoutS * 1000 { return i }
            if entries[i].lastFailure < entries[oldest].lastFailure { oldest = i }
        }
        return oldest
    }
}
