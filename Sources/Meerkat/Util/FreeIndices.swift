/// The free entries of a fixed table, as a stack of indices allocated once: taking and
/// giving back are O(1) and never allocate. Every fixed table in the library (connection
/// slots, buffer pools, TLS sessions, clients, file sends) keeps its free entries here.
/// Entry 0 is handed out first, so a lightly used table stays at its low end.
struct FreeIndices {
    let capacity: Int
    private let stack: UnsafeMutablePointer<Int32>
    /// Entries free now.
    private(set) var count: Int
    /// The fewest entries that were ever free at once: how close the table came to full.
    private(set) var lowest: Int

    init(capacity requested: Int) {
        capacity = max(requested, 0)
        stack = .allocate(capacity: max(capacity, 1))
        for i in 0..<capacity { stack[i] = Int32(capacity - 1 - i) }
        count = capacity
        lowest = capacity
    }

    var inUse: Int { capacity - count }

    /// The index that `take()` would return next, or nil when none is free.
    var next: Int32? { count > 0 ? stack[count - 1] : nil }

    /// A free index, or nil when every entry is in use.
    mutating func take() -> Int32? {
        guard count > 0 else { return nil }
        count -= 1
        lowest = min(lowest, count)
        return stack[count]
    }

    mutating func give(_ i: Int32) {
        precondition(count < capacity, "an entry was given back twice")
        stack[count] = i
        count += 1
    }

    func deallocate() { stack.deallocate() }
}
