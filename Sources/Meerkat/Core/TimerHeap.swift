/// The manager's timers, in a binary min-heap ordered by due time and then by the order
/// they were added (two timers due together fire in the order they were made). The
/// next due timer is the root: the poll timeout costs O(1) and firing one O(log n),
/// where a list costs two walks of every timer on every poll. Storage is reserved once
/// for `Limits.timers`; an app that keeps more live timers than that grows it when it
/// adds one (`timerAdd`, from a callback too), and only then: a full heap first sweeps
/// its cancelled timers, and a repeating timer goes back into the place it was just
/// taken from, so firing never grows it. A cancelled timer stays until it reaches the root, or until the heap is full
/// and is swept: cancel is O(1) and the timer needs no link back to its manager.
struct TimerHeap {
    private var heap: [Timer] = []
    private var added: UInt64 = 0

    init(capacity: Int) {
        heap.reserveCapacity(max(capacity, 1))
    }

    var count: Int { heap.count }
    /// Timers it holds before it must grow.
    var capacity: Int { heap.capacity }

    /// Adds `timer`, sweeping cancelled timers first when the reserved room is used up.
    mutating func insert(_ timer: Timer) {
        if heap.count == heap.capacity { sweep() }
        added &+= 1
        timer.order = added
        heap.append(timer)
        siftUp(heap.count - 1)
    }

    /// The due time of the next live timer (cancelled ones at the root are dropped).
    mutating func nextDue() -> Int64? {
        while let top = heap.first, top.isDone { removeRoot() }
        return heap.first?.dueMs
    }

    /// Where a pass of firing starts: timers scheduled after it wait for the next pass,
    /// even if due now (a callback that adds a `runNow` timer must not loop forever).
    var mark: UInt64 { added }

    /// Takes out the next live timer due at `now` and scheduled by `mark`, if any. The
    /// caller fires it outside any access to the heap (its callback may add timers), and
    /// puts a repeating one back with `insert`.
    mutating func popDue(now: Int64, mark: UInt64) -> Timer? {
        while let top = heap.first {
            if top.isDone {
                removeRoot()
                continue
            }
            guard top.dueMs <= now, top.order <= mark else { return nil }
            removeRoot()
            return top
        }
        return nil
    }

    mutating func removeAll() {
        heap.removeAll(keepingCapacity: true)
    }

    /// Drops cancelled timers and rebuilds the heap (O(n)).
    private mutating func sweep() {
        heap.removeAll { $0.isDone }
        var i = heap.count / 2
        while i > 0 {
            i -= 1
            siftDown(i)
        }
    }

    private mutating func removeRoot() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        siftDown(0)
    }

    private func before(_ a: Timer, _ b: Timer) -> Bool {
        a.dueMs < b.dueMs || (a.dueMs == b.dueMs && a.order < b.order)
    }

    private mutating func siftUp(_ at: Int) {
        var i = at
        while i > 0 {
            let parent = (i - 1) / 2
            guard before(heap[i], heap[parent]) else { return }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func siftDown(_ at: Int) {
        var i = at
        while true {
            let l = 2 * i + 1
            guard l < heap.count else { return }
            var child = l
            if l + 1 < heap.count && before(heap[l + 1], heap[l]) { child = l + 1 }
            guard before(heap[child], heap[i]) else { return }
            heap.swapAt(i, child)
            i = child
        }
    }
}
