/// An intrusive FIFO of slots, each stamped with the time it joined. The manager keeps
/// one per timeout (idle, header, linger): with one timeout per queue, the oldest entry
/// is the first to expire, so finding expired slots costs O(expired), never
/// O(connections). It also serves as a plain FIFO (slots waiting for a buffer, slots to
/// close), without stamps: 8 bytes a slot instead of 16. Links live in arrays indexed by
/// slot, sized once.
struct SlotQueue {
    private static let absent: Int32 = -2
    private let prev: UnsafeMutablePointer<Int32>
    private let next: UnsafeMutablePointer<Int32>
    private let since: UnsafeMutablePointer<Int64>
    private let stamped: Bool
    private(set) var first: Int32 = -1
    private var last: Int32 = -1

    /// `stamped: false` for a plain FIFO, whose `stamp` is always 0.
    init(capacity: Int, stamped: Bool = true) {
        self.stamped = stamped
        prev = .allocate(capacity: capacity)
        next = .allocate(capacity: capacity)
        since = .allocate(capacity: stamped ? capacity : 1)
        prev.initialize(repeating: SlotQueue.absent, count: capacity)
        next.initialize(repeating: -1, count: capacity)
        since.initialize(repeating: 0, count: stamped ? capacity : 1)
    }

    /// Memory this queue takes per slot of the table.
    var bytesPerSlot: Int { 8 + (stamped ? 8 : 0) }

    func contains(_ slot: Int32) -> Bool { prev[Int(slot)] != SlotQueue.absent }

    func stamp(_ slot: Int32) -> Int64 { stamped ? since[Int(slot)] : 0 }

    /// The slot after `slot` (one that joined later), or -1.
    func after(_ slot: Int32) -> Int32 { contains(slot) ? next[Int(slot)] : -1 }

    /// Adds `slot` at the end, stamped `now` (moves it there if present).
    mutating func append(_ slot: Int32, now: Int64) {
        if contains(slot) { remove(slot) }
        let s = Int(slot)
        if stamped { since[s] = now }
        prev[s] = last
        next[s] = -1
        if last >= 0 { next[Int(last)] = slot } else { first = slot }
        last = slot
    }

    /// The slot before `slot` (one that joined earlier), or -1.
    func before(_ slot: Int32) -> Int32 { contains(slot) ? prev[Int(slot)] : -1 }

    /// Puts `slot` right after `after` (at the front when `after` is -1), stamped `now`
    /// (moves it there if present).
    mutating func insert(_ slot: Int32, after: Int32, now: Int64) {
        if contains(slot) { remove(slot) }
        let s = Int(slot)
        if stamped { since[s] = now }
        let n = after >= 0 ? next[Int(after)] : first
        prev[s] = after
        next[s] = n
        if after >= 0 { next[Int(after)] = slot } else { first = slot }
        if n >= 0 { prev[Int(n)] = slot } else { last = slot }
    }

    mutating func remove(_ slot: Int32) {
        let s = Int(slot)
        guard contains(slot) else { return }
        let p = prev[s], n = next[s]
        if p >= 0 { next[Int(p)] = n } else { first = n }
        if n >= 0 { prev[Int(n)] = p } else { last = p }
        prev[s] = SlotQueue.absent
        next[s] = -1
    }

    /// The oldest slot if it has been in the list for at least `timeout` ms.
    func expired(now: Int64, timeout: Int64) -> Int32? {
        guard first >= 0, now - since[Int(first)] >= timeout else { return nil }
        return first
    }

    func deallocate() {
        prev.deallocate()
        next.deallocate()
        since.deallocate()
    }
}
