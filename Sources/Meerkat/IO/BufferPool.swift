/// A fixed pool of equal-sized byte blocks, allocated once. A connection borrows a block
/// only while it has bytes pending, so idle connections hold none. An empty pool is
/// back-pressure for the caller (reading pauses, sending throws), never a reason to grow.
struct BufferPool {
    let blockSize: Int
    let blockCount: Int
    private let memory: UnsafeMutableRawPointer
    private var free: FreeIndices
    /// The slot holding each block (-1: free), so reclaim can weigh every holder.
    private let owners: UnsafeMutablePointer<Int32>
    var freeCount: Int { free.count }
    /// The fewest blocks that were ever free at once: how close the pool came to empty.
    var lowestFree: Int { free.lowest }

    init(blockSize: Int, blockCount: Int) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        memory = UnsafeMutableRawPointer.allocate(byteCount: blockSize * blockCount, alignment: 16)
        free = FreeIndices(capacity: blockCount)
        owners = .allocate(capacity: blockCount)
        owners.initialize(repeating: -1, count: blockCount)
    }

    /// A free block's index for `slot`, or nil when the pool is empty.
    mutating func acquire(for slot: Int32) -> Int32? {
        guard let block = free.take() else { return nil }
        owners[Int(block)] = slot
        return block
    }

    mutating func release(_ block: Int32) {
        owners[Int(block)] = -1
        free.give(block)
    }

    /// The slot holding `block`, or -1.
    func owner(_ block: Int32) -> Int32 { owners[Int(block)] }

    func pointer(_ block: Int32) -> UnsafeMutablePointer<UInt8> {
        (memory + Int(block) * blockSize).assumingMemoryBound(to: UInt8.self)
    }

    func deallocate() {
        memory.deallocate()
        free.deallocate()
        owners.deallocate()
    }
}
