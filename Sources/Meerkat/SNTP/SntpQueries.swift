/// The SNTP requests in flight: a small fixed table (one entry per SNTP client, at most
/// `Limits.maxClients`), allocated once. Each entry keeps the cookie its request carried
/// and when it left (monotonic ms), for the answer's checks and the retries.
struct SntpQueries {
    struct Entry {
        var slot: Int32 = -1
        var cookie: UInt64 = 0
        var sentMs: Int64 = 0
        /// Requests sent for the answer awaited; 0 when none is awaited.
        var tries: UInt8 = 0
    }

    /// An answer not come within this is asked again, up to `tries` requests in all.
    static let timeoutMs: Int64 = 2_000
    static let tries: UInt8 = 3

    let capacity: Int
    let entries: UnsafeMutablePointer<Entry>
    /// Entries in use: with none (the usual case), the loop's look at SNTP each poll is
    /// one comparison, not a walk of the table.
    private(set) var inUse = 0

    init(capacity requested: Int) {
        capacity = max(requested, 0)
        entries = .allocate(capacity: max(capacity, 1))
        entries.initialize(repeating: Entry(), count: max(capacity, 1))
    }

    /// The entry of `slot`, if it has one.
    func find(_ slot: Int32) -> Int? {
        for i in 0..<capacity where entries[i].slot == slot { return i }
        return nil
    }

    mutating func take(for slot: Int32) -> Int? {
        guard let i = find(-1) else { return nil }
        entries[i] = Entry(slot: slot)
        inUse += 1
        return i
    }

    mutating func give(_ slot: Int32) {
        guard let i = find(slot) else { return }
        entries[i] = Entry()
        inUse -= 1
    }

    /// When the earliest awaited answer is late.
    var due: Int64 {
        var due = Int64.max
        guard inUse > 0 else { return due }
        for i in 0..<capacity where entries[i].slot >= 0 && entries[i].tries > 0 {
            due = min(due, entries[i].sentMs + SntpQueries.timeoutMs)
        }
        return due
    }

    func deallocate() { entries.deallocate() }
}
