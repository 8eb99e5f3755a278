/// A fixed pool of equal-sized byte blocks, allocated once. A connection borrows a block
/// only while it has bytes pending, so idle connections hold none. An empty pool is
/// back-pressure for the caller (reading pauses, sending throws), never a reason to grow.
struct BufferPool {
    let blockSize: Int
    let blockCount: Int
    private let memory: UnsafeMutableRawPointer
    private let freeStack: UnsafeMutablePointer<Int32>
    private(set) var freeCount: Int
    /// The fewest blocks that were ever free at once: how close the pool came to empty.
    private(set) var lowestFree: Int

    init(blockSize: Int, blockCount: Int) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        memory = UnsafeMutableRawPointer.allocate(byteCount: blockSize * blockCount, alignment: 16)
        freeStack = .allocate(capacity: blockCount)
        for i in 0..<blockCount { freeStack[i] = Int32(blockCount - 1 - i) }
        freeCount = blockCount
        lowestFree = blockCount
    }

    /// A free block's index, or nil when the pool is empty.
    mutating func acquire() -> Int32? {
        guard freeCount > 0 else { return nil }
        freeCount -= 1
        lowestFree = min(lowestFree, freeCount)
        return freeStack[freeCount]
    }

    mutating func release(_ block: Int32) {
        precondition(freeCount < blockCount, "block released twice")
        freeStack[freeCount] = block
        freeCount += 1
    }

    func pointer(_ block: Int32) -> UnsafeMutablePointer<UInt8> {
        (memory + Int(block) * blockSize).assumingMemoryBound(to: UInt8.self)
    }

    func deallocate() {
        memory.deallocate()
        freeStack.deallocate()
    }
}
