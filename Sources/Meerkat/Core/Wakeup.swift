import CMeerkat

/// The one cross-thread path into a manager: other threads push (connection id, bytes)
/// records under a mutex and poke an eventfd; the loop takes the whole batch at once.
/// The queue is fixed in size; a push that does not fit is refused, not grown.
final class WakeupQueue {
    let fd: Int32
    private let mutex: OpaquePointer
    private let capacity: Int
    private let pending: UnsafeMutablePointer<UInt8>
    private let batch: UnsafeMutablePointer<UInt8>
    private var used = 0
    private static let recordHead = 12  // 8-byte id, 4-byte length

    init(capacity: Int) {
        fd = mk_eventfd()
        mutex = mk_mutex_create()!
        self.capacity = capacity
        pending = .allocate(capacity: capacity)
        batch = .allocate(capacity: capacity)
    }

    func deallocate() {
        pending.deallocate()
        batch.deallocate()
        mk_mutex_free(mutex)
        if fd >= 0 { _ = close(fd) }
    }

    /// Thread-safe. False when the queue is full.
    func push(id: UInt64, _ bytes: UnsafeRawBufferPointer) -> Bool {
        mk_mutex_lock(mutex)
        let need = WakeupQueue.recordHead + bytes.count
        guard used + need <= capacity else {
            mk_mutex_unlock(mutex)
            return false
        }
        var header = (id, UInt32(bytes.count))
        withUnsafeBytes(of: &header) { _ = memcpy(pending + used, $0.baseAddress!, 12) }
        if bytes.count > 0 { memcpy(pending + used + 12, bytes.baseAddress!, bytes.count) }
        used += need
        mk_mutex_unlock(mutex)
        return mk_eventfd_signal(fd) == 0
    }

    /// Loop thread: calls `body` for each queued record, oldest first.
    func drain(_ body: (UInt64, ByteView) -> Void) {
        mk_eventfd_drain(fd)
        mk_mutex_lock(mutex)
        let n = used
        memcpy(batch, pending, n)
        used = 0
        mk_mutex_unlock(mutex)
        var at = 0
        while at + WakeupQueue.recordHead <= n {
            var id: UInt64 = 0
            var length: UInt32 = 0
            memcpy(&id, batch + at, 8)
            memcpy(&length, batch + at + 8, 4)
            body(id, ByteView(base: batch + at + 12, count: Int(length)))
            at += WakeupQueue.recordHead + Int(length)
        }
    }
}

extension Manager {
    /// Sends `data` to the connection with id `id`, delivered on the loop thread as
    /// `.wakeup(data)`. The one call that is safe from another thread. False when the
    /// wakeup queue (`Limits.wakeupQueueBytes`) is full.
    @discardableResult
    public func wakeup(_ id: UInt64, _ data: some ByteSource) -> Bool {
        data.withBytes { wakeupQueue.push(id: id, $0) }
    }

    func deliverWakeups() {
        wakeupQueue.drain { id, data in
            let s = Int32(truncatingIfNeeded: id & 0xffff_ffff)
            let c = Connection(manager: self, slot: s, gen: UInt32(truncatingIfNeeded: id >> 32))
            if let s = live(c), slots[Int(s)].kind != .rejecting { deliver(s, .wakeup(data)) }
        }
    }
}
