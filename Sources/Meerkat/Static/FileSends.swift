import CMeerkat

/// Files being sent as reply bodies larger than a send block: a small fixed table
/// (`Limits.fileSends`), allocated once. A connection's held body names its entry
/// (`HeldBody.Owner.file`); the bytes go from the descriptor to the socket as it drains
/// (sendfile; read into the TLS scratch for a TLS connection), so a file of any size
/// costs no buffer of its own.
struct FileSends {
    struct Entry {
        var fd: Int32 = -1
        var offset: UInt64 = 0
        var remaining: UInt64 = 0
        /// The connection sending it (reclaim weighs the senders).
        var slot: Int32 = -1
    }

    let capacity: Int
    let entries: UnsafeMutablePointer<Entry>
    private var free: FreeIndices

    init(capacity requested: Int) {
        capacity = max(requested, 0)
        let n = max(capacity, 1)
        entries = .allocate(capacity: n)
        entries.initialize(repeating: Entry(), count: n)
        free = FreeIndices(capacity: capacity)
    }

    var inUse: Int { free.inUse }

    var isFull: Bool { free.count == 0 }

    /// An entry for `fd` from `offset`, `length` bytes, sent by `slot`; nil when the
    /// table is full.
    mutating func take(fd: Int32, offset: UInt64, length: UInt64, for slot: Int32) -> Int32? {
        guard let e = free.take() else { return nil }
        entries[Int(e)] = Entry(fd: fd, offset: offset, remaining: length, slot: slot)
        return e
    }

    /// Closes the entry's descriptor and frees it.
    mutating func give(_ e: Int32) {
        if entries[Int(e)].fd >= 0 { _ = CMeerkat.close(entries[Int(e)].fd) }
        entries[Int(e)] = Entry()
        free.give(e)
    }

    func deallocate() {
        for i in 0..<capacity where entries[i].fd >= 0 { _ = CMeerkat.close(entries[i].fd) }
        entries.deallocate()
        free.deallocate()
    }
}
