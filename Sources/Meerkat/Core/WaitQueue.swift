/// The connections waiting for a receive block: a FIFO in which those whose next unit is
/// already whole in their socket ("ready") go before the others, each group in the order
/// it joined. A ready peer is served as soon as a block comes back, and a crowd that
/// trickles halves cannot queue it behind them; among the ready, first come is first
/// served. 8 bytes a slot (one `SlotQueue`), the end of the ready group and a count.
struct WaitQueue {
    private var queue: SlotQueue
    /// The last ready entry (everything before it is ready too), or -1.
    private var lastReady: Int32 = -1
    /// How many wait.
    private(set) var count: Int32 = 0

    init(capacity: Int) {
        queue = SlotQueue(capacity: capacity, stamped: false)
    }

    var bytesPerSlot: Int { queue.bytesPerSlot }
    var first: Int32 { queue.first }
    /// The first entry with only part of a unit, or -1.
    var firstPart: Int32 { lastReady >= 0 ? queue.after(lastReady) : queue.first }
    func after(_ slot: Int32) -> Int32 { queue.after(slot) }
    func contains(_ slot: Int32) -> Bool { queue.contains(slot) }

    /// Adds `slot`: at the end of the ready group if `ready`, else at the very end.
    mutating func append(_ slot: Int32, ready: Bool) {
        remove(slot)
        count += 1
        if ready {
            queue.insert(slot, after: lastReady, now: 0)
            lastReady = slot
        } else {
            queue.append(slot, now: 0)
        }
    }

    mutating func remove(_ slot: Int32) {
        guard queue.contains(slot) else { return }
        if slot == lastReady { lastReady = queue.before(slot) }
        queue.remove(slot)
        count -= 1
    }

    func deallocate() { queue.deallocate() }
}
